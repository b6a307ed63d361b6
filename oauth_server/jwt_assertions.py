"""Verifying a JWT that a client signed: RFC 7523 §3 ("JWT Format and Processing Requirements").

Used by both uses RFC 7523 defines: the JWT-bearer authorization grant (§2.1, in
grants/jwt_bearer.py) and private_key_jwt client authentication (§2.2, in request_validator.py).
`verify_assertion` takes the assertion as a string and returns what it established, or raises
AssertionRejected with a short reason naming the rule that failed. The reason is safe to show and to
log: it never contains the assertion or any part of it.

The rules, in the order they are checked (each `_check_*` names its rule):
  - size: the assertion is refused before parsing when it exceeds JWT_ASSERTION_MAX_BYTES;
  - rule 9/10: a well-formed JWS, `alg` in ASSERTION_SIGNING_ALGORITHMS (never "none" nor HMAC), no
    unknown critical headers, the algorithm fits the type of the key (no key confusion), and the
    signature verifies with one of the client's registered keys (selected by `kid` when present);
  - rule 1: `iss` is the client's client_id;
  - rule 2: `sub` is the client_id (client authentication; a grant without a user), or the username
    of an existing, active user (a user-bound grant);
  - rule 3: `aud` contains the token endpoint URL or the issuer URL;
  - rule 4: `exp` present and in the future (with JWT_CLOCK_SKEW_SECONDS); not further ahead than
    JWT_ASSERTION_MAX_LIFETIME_SECONDS, which also bounds how long a `jti` must be remembered;
  - rule 5: `nbf`, when present, has passed (with skew);
  - rule 6: `iat` present (our choice: see _check_issued_at), not in the future and not older than
    JWT_ASSERTION_MAX_AGE_SECONDS;
  - rule 7: `jti` present and used only once until the assertion expires (a database unique
    constraint, so it holds across processes and under concurrency).
The signature is checked before the claims, so only the holder of a registered key learns which
claim was wrong.
"""

import base64
import json
import logging
import time
from dataclasses import dataclass
from enum import Enum

import jwt
from django.conf import settings
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import PyJWTError

from . import client_keys
from .constants import ASSERTION_SIGNING_ALGORITHMS

log = logging.getLogger(__name__)


class Purpose(Enum):
    AUTHORIZATION_GRANT = "authorization grant (RFC 7523 §2.1)"
    CLIENT_AUTHENTICATION = "client authentication (RFC 7523 §2.2)"


class AssertionRejected(Exception):
    """An assertion failed a rule. `reason` is safe to show to the client and to log.

    `key_related` marks failures that depend on the client's registered keys (unknown client, no
    key fits, bad signature): client authentication answers all of them the same way, so that a
    failure does not tell whether a client exists.
    """

    def __init__(self, reason, *, key_related=False):
        super().__init__(reason)
        self.reason = reason
        self.key_related = key_related


@dataclass(frozen=True)
class VerifiedAssertion:
    claims: dict
    client: object
    user: object  # None when the assertion's subject is the client itself


# --- injectable stores (the defaults use the database) ----------------------------------------------
def _database_replay_store():
    from .models import UsedJTI

    return UsedJTI.objects


def _find_active_user(username):
    from accounts.lookups import find_user_by_username

    user = find_user_by_username(username)
    return user if user is not None and user.is_active else None


# --- the entry points ----------------------------------------------------------------------------------
def verify_assertion(assertion, *, client, audiences, purpose, now=None, keys=None, replay_store=None,
                     find_user=_find_active_user):
    """Check every RFC 7523 §3 rule; return a VerifiedAssertion or raise AssertionRejected.

    `client` is the client the assertion must come from (None: unknown, always refused);
    `audiences` the accepted `aud` values ([token endpoint URL, issuer URL]);
    `keys` the client's public keys (default: client_keys.client_public_keys);
    `replay_store` has `claim(issuer, jti, expires_at) -> bool` (default: the UsedJTI table).
    """
    now = int(time.time()) if now is None else int(now)
    header = check_form(assertion)
    if client is None:
        raise AssertionRejected(SIGNATURE_REASON, key_related=True)
    if keys is None:
        keys = client_keys.client_public_keys(client, kid=header.get("kid"))
    claims = _check_signature(assertion, header, keys)
    _check_issuer(claims, client)
    user = _check_subject(claims, client, purpose, find_user)
    _check_audience(claims, audiences)
    _check_expiry(claims, now)
    _check_not_before(claims, now)
    _check_issued_at(claims, now)
    _check_replay(claims, now, replay_store or _database_replay_store())
    return VerifiedAssertion(claims=claims, client=client, user=user)


def check_form(assertion):
    """The rules that need no key: size, then a JWS header with an accepted algorithm. Returns the header."""
    _check_size(assertion)
    return _check_header(assertion)


def expected_audiences():
    """RFC 7523 §3 rule 3: the `aud` values that name us: the token endpoint URL and the issuer URL."""
    from django.urls import reverse

    return [settings.OAUTH_ISSUER + reverse("oauth:token"), settings.OAUTH_ISSUER]


def unverified_issuer(assertion):
    """The `iss` of an assertion, unverified: only to find whose keys must verify it. None if unreadable."""
    try:
        _check_size(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except (AssertionRejected, PyJWTError, ValueError, TypeError):
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) and iss else None


# --- the checks --------------------------------------------------------------------------------------
SIGNATURE_REASON = "signature does not verify with a key registered for the issuer (iss)"
_JWS_ALGORITHM_NAMES = set(get_default_algorithms()) | {"none"}


def _check_size(assertion):
    # Refused before any parsing: base64 and JSON decoding of a huge value costs memory and time.
    if not isinstance(assertion, str) or not assertion:
        raise AssertionRejected("assertion is missing")
    if len(assertion.encode("utf-8")) > settings.JWT_ASSERTION_MAX_BYTES:
        raise AssertionRejected(f"assertion larger than {settings.JWT_ASSERTION_MAX_BYTES} bytes")


def _check_header(assertion):
    # RFC 7523 §3, rule 10: a JWT valid in all respects per RFC 7519 (a JWS in compact serialization).
    if assertion.count(".") != 2:
        raise AssertionRejected("assertion is not a signed JWT (JWS compact serialization)")
    try:
        encoded = assertion.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, TypeError):
        header = None
    if not isinstance(header, dict):
        raise AssertionRejected("assertion header is not a base64url-encoded JSON object")
    alg = header.get("alg")
    # RFC 7523 §3, rule 9: digitally signed. "none" and the HMAC family are refused: a client's
    # registered key is public, and "HS256 with the public key as secret" is the classic forgery.
    if alg not in ASSERTION_SIGNING_ALGORITHMS:
        # Name the algorithm only when it is a registered JWS name: nothing else of the header is echoed.
        named = repr(alg) if isinstance(alg, str) and alg in _JWS_ALGORITHM_NAMES else "(missing or unknown)"
        raise AssertionRejected(f"signing algorithm (alg) {named} is not accepted; use one of "
                                f"{', '.join(ASSERTION_SIGNING_ALGORITHMS)}")
    # RFC 7515 §4.1.11: a recipient MUST reject a JWS with critical extensions it does not understand.
    if "crit" in header:
        raise AssertionRejected("critical header parameters (crit) are not supported")
    # RFC 8725 §3.11: an access token (typ at+jwt) is not an assertion.
    if str(header.get("typ", "")).lower() in ("at+jwt", "application/at+jwt"):
        raise AssertionRejected("an access token (typ at+jwt) is not an assertion")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise AssertionRejected("key id (kid) is not a string")
    return header


def _select_keys(header, keys):
    # RFC 7523 §3, rule 9, and RFC 8725 §3.1: the algorithm must fit the key's type (RS256 and PS256:
    # RSA; ES256: EC P-256; EdDSA: Ed25519), so an EC key is never used where RSA is named and so on.
    alg, kid = header["alg"], header.get("kid")
    if kid is not None:
        named = [k for k in keys if k.kid == kid]
        if named:
            fitting = [k for k in named if alg in k.algorithms]
            if not fitting:
                kinds = ", ".join(sorted({k.kind for k in named}))
                raise AssertionRejected(f"algorithm {alg} does not fit the type of key {kid!r} ({kinds})",
                                        key_related=True)
            return fitting
        # A kid we do not know: a key registered without a kid (a certificate) may still be the one.
        keys = [k for k in keys if k.kid is None]
    fitting = [k for k in keys if alg in k.algorithms]
    if keys and not fitting:
        kinds = ", ".join(sorted({k.kind for k in keys}))
        raise AssertionRejected(f"algorithm {alg} does not fit the type of the client's keys ({kinds})",
                                key_related=True)
    if not fitting:
        raise AssertionRejected(SIGNATURE_REASON, key_related=True)
    return fitting


def _check_signature(assertion, header, keys):
    # RFC 7523 §3, rule 9: "The JWT MUST be digitally signed ... the authorization server MUST reject
    # JWTs with an invalid signature".
    options = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
               "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False}
    for key in _select_keys(header, keys):
        try:
            claims = jwt.decode(assertion, key=key.key, algorithms=[header["alg"]], options=options)
        except jwt.InvalidSignatureError:
            continue
        except jwt.DecodeError:
            # RFC 7523 §3, rule 10: segments that are not base64url, or claims that are not a JSON object.
            raise AssertionRejected("assertion is not a well-formed JWT") from None
        except PyJWTError:
            continue
        if not isinstance(claims, dict):
            raise AssertionRejected("assertion payload is not a JSON object of claims")
        return claims
    raise AssertionRejected(SIGNATURE_REASON, key_related=True)


def _check_issuer(claims, client):
    # RFC 7523 §3, rule 1: "The JWT MUST contain an iss (issuer) claim that contains a unique
    # identifier for the entity that issued the JWT." For us that is the client: its client_id.
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise AssertionRejected("issuer (iss) is missing")
    if iss != client.client_id:
        raise AssertionRejected("issuer (iss) is not the client's client_id")


def _check_subject(claims, client, purpose, find_user):
    # RFC 7523 §3, rule 2: "The JWT MUST contain a sub (subject) claim". For client authentication
    # (§3 rule 2.B) it MUST be the client_id. For the grant it names the resource owner (a username),
    # or the client itself for a token without a user.
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AssertionRejected("subject (sub) is missing")
    if sub == client.client_id:
        return None
    if purpose is Purpose.CLIENT_AUTHENTICATION:
        raise AssertionRejected("subject (sub) of a client assertion must be the client_id")
    user = find_user(sub)
    if user is None:
        raise AssertionRejected("subject (sub) is not an active user")
    return user


def _check_audience(claims, audiences):
    # RFC 7523 §3, rule 3: "The JWT MUST contain an aud (audience) claim containing a value that
    # identifies the authorization server as an intended audience. The token endpoint URL of the
    # authorization server MAY be used" — we accept the token endpoint URL and our issuer URL.
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud
    if not values or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise AssertionRejected("audience (aud) is missing")
    if not set(values) & set(audiences):
        raise AssertionRejected("audience (aud) does not include the token endpoint or the issuer")


def _number(claims, name):
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AssertionRejected(f"{name} is not a NumericDate")
    return value


def _check_expiry(claims, now):
    # RFC 7523 §3, rule 4: "The JWT MUST contain an exp (expiration time) claim ... The authorization
    # server MUST reject any JWT with an expiration time that has passed, subject to allowable clock
    # skew". It also "MAY reject JWTs with an exp claim value that is unreasonably far in the future".
    exp = _number(claims, "exp")
    if exp is None:
        raise AssertionRejected("expiration time (exp) is missing")
    skew = settings.JWT_CLOCK_SKEW_SECONDS
    if exp <= now - skew:
        raise AssertionRejected("assertion expired (exp)")
    if exp > now + settings.JWT_ASSERTION_MAX_LIFETIME_SECONDS + skew:
        raise AssertionRejected(f"expiration time (exp) is more than "
                                f"{settings.JWT_ASSERTION_MAX_LIFETIME_SECONDS} seconds ahead")


def _check_not_before(claims, now):
    # RFC 7523 §3, rule 5: "The JWT MAY contain an nbf (not before) claim ... The authorization server
    # MUST reject any JWT that is not yet valid" (with clock skew).
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + settings.JWT_CLOCK_SKEW_SECONDS:
        raise AssertionRejected("assertion not yet valid (nbf)")


def _check_issued_at(claims, now):
    # RFC 7523 §3, rule 6: "The JWT MAY contain an iat (issued at) claim ... The authorization server
    # MAY reject JWTs with an iat claim value that is unreasonably far in the past." We require iat:
    # without it the age limit could be dodged by leaving it out, and every mainstream client library
    # sets it.
    iat = _number(claims, "iat")
    skew = settings.JWT_CLOCK_SKEW_SECONDS
    if iat is None:
        raise AssertionRejected("issued-at time (iat) is missing")
    if iat > now + skew:
        raise AssertionRejected("issued-at time (iat) is in the future")
    if iat < now - settings.JWT_ASSERTION_MAX_AGE_SECONDS - skew:
        raise AssertionRejected(f"assertion too old: issued (iat) more than "
                                f"{settings.JWT_ASSERTION_MAX_AGE_SECONDS} seconds ago")


def _check_replay(claims, now, replay_store):
    # RFC 7523 §3, rule 7: "The JWT MAY contain a jti (JWT ID) claim ... The authorization server MAY
    # ensure that JWTs are not replayed by maintaining the set of used "jti" values for the length of
    # time for which the JWT would be considered valid based on the applicable "exp" instant."
    # We require jti, and remember it until exp (plus skew).
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise AssertionRejected("JWT ID (jti) is missing")
    if len(jti) > 256:
        raise AssertionRejected("JWT ID (jti) is longer than 256 characters")
    expires_at = int(claims["exp"]) + settings.JWT_CLOCK_SKEW_SECONDS
    if not replay_store.claim(claims["iss"], jti, expires_at):
        raise AssertionRejected("JWT ID (jti) already used: the assertion was replayed")

