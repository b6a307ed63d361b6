"""Clients' public keys: registered as a JWKS, fetched from a `jwks_uri`, or taken from an X.509 certificate.

RFC 7517 (JSON Web Key) and RFC 7518 §6 (key types), as RFC 7523 §3 rule 9 needs them: the keys
that may verify what a client signs. Only public asymmetric keys of the kinds our algorithms use are
accepted: RSA of at least 2048 bits (RS256, PS256), EC P-256 (ES256), OKP Ed25519 (EdDSA).

A `jwks_uri` is fetched with a timeout and a size limit, cached in Django's cache (shared between
processes when it is Redis), and fetched again when an assertion names a `kid` the cached set lacks;
that refetch happens at most once per JWKS_REFETCH_INTERVAL_SECONDS per client, so forged `kid`s
cannot make us hammer the client's server.
"""

import hashlib
import json
import logging
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.cache import cache
from jwt import PyJWK
from jwt.exceptions import PyJWTError

log = logging.getLogger(__name__)

MIN_RSA_BITS = 2048
# The members of a JWK that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class KeyProblem(ValueError):
    """A registered key we cannot use; the message is meant for the person registering it."""


@dataclass(frozen=True)
class ClientKey:
    kid: str | None
    key: object  # a cryptography public key
    algorithms: tuple  # the JWS algorithms this key may verify
    source: str  # "jwks", "jwks_uri" or "certificate"

    @property
    def kind(self):
        return key_kind(self.key)


def key_kind(key):
    """A short name for the type of a public key, for messages: 'RSA', 'EC P-256', 'Ed25519'."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__


def algorithms_for(key):
    """The algorithms a public key may be used with; refuses keys we do not accept."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyProblem(f"RSA keys must have at least {MIN_RSA_BITS} bits (this one has {key.key_size}).")
        return ("RS256", "PS256")
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyProblem(f"EC keys must use the P-256 curve (ES256); this one uses {key.curve.name}.")
        return ("ES256",)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ("EdDSA",)
    raise KeyProblem("Only RSA, EC P-256 and Ed25519 public keys are accepted.")


# --- JWK and JWKS ------------------------------------------------------------------------------
_ALGORITHM_FOR_KTY = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}


def parse_jwk(jwk, source="jwks"):
    """One public JWK → ClientKey, or KeyProblem saying what is wrong with it."""
    if not isinstance(jwk, dict):
        raise KeyProblem("is not a JSON object.")
    kty = jwk.get("kty")
    if kty == "oct":
        raise KeyProblem('is a symmetric ("oct") key: register public keys only (HMAC is not accepted).')
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        raise KeyProblem(f'contains private key material ("{private[0]}"): register only the public key.')
    if kty not in _ALGORITHM_FOR_KTY:
        raise KeyProblem(f'has an unsupported key type (kty) {kty!r}: use RSA, EC (P-256) or OKP (Ed25519).')
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise KeyProblem('has a "kid" that is not a string.')
    if jwk.get("use") not in (None, "sig"):
        raise KeyProblem(f'has "use": {jwk.get("use")!r}; a signing key has "use": "sig" (or no "use").')
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise KeyProblem('has "key_ops" without "verify".')
    try:
        # The algorithm is chosen from kty, never from the key's own "alg", so that an "alg": "HS256"
        # cannot turn a public key into an HMAC secret.
        key = PyJWK(jwk, algorithm=_ALGORITHM_FOR_KTY[kty]).key
    except (PyJWTError, ValueError, TypeError, KeyError):
        raise KeyProblem(f"is not a valid {kty} public key (check its members and base64url encoding).") from None
    algorithms = algorithms_for(key)
    declared = jwk.get("alg")
    if declared is not None:
        if declared not in algorithms:
            raise KeyProblem(f'declares "alg": {declared!r}, which a {key_kind(key)} key cannot be used with '
                             f"here (allowed: {', '.join(algorithms)}).")
        algorithms = (declared,)
    return ClientKey(kid=kid, key=key, algorithms=algorithms, source=source)


def parse_jwks(jwks, source="jwks"):
    """A JWKS object → list of ClientKey. Raises KeyProblem naming the first bad key."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise KeyProblem('A JWKS is a JSON object with a "keys" list: {"keys": [{...}, ...]}.')
    if not jwks["keys"]:
        raise KeyProblem('The JWKS has no keys.')
    keys, kids = [], set()
    for number, jwk in enumerate(jwks["keys"], start=1):
        try:
            key = parse_jwk(jwk, source)
        except KeyProblem as problem:
            kid = jwk.get("kid") if isinstance(jwk, dict) else None
            name = f"Key {number}" + (f" ({kid})" if isinstance(kid, str) else "")
            raise KeyProblem(f"{name} {problem}") from None
        if key.kid is not None:
            if key.kid in kids:
                raise KeyProblem(f'Two keys have the same "kid" {key.kid!r}.')
            kids.add(key.kid)
        keys.append(key)
    return keys


def _lenient_jwks(jwks, source):
    """Keys from a JWKS we did not validate (a jwks_uri): bad members are skipped, not fatal."""
    keys = []
    for jwk in (jwks or {}).get("keys", []) if isinstance(jwks, dict) else []:
        try:
            keys.append(parse_jwk(jwk, source))
        except KeyProblem:
            log.warning("skipping an unusable key in a client's JWKS (kid %r)",
                        jwk.get("kid") if isinstance(jwk, dict) else None)
    return keys


# --- certificates ---------------------------------------------------------------------------------
def parse_certificates(pem):
    """PEM text with one or more X.509 certificates → list of ClientKey. Raises KeyProblem."""
    if "PRIVATE KEY" in pem:
        raise KeyProblem("This is a private key. Paste the certificate only (-----BEGIN CERTIFICATE-----); "
                         "the private key never leaves the client.")
    try:
        certificates = x509.load_pem_x509_certificates(pem.strip().encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        raise KeyProblem("This is not a valid PEM-encoded X.509 certificate "
                         "(-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----).") from None
    keys = []
    for certificate in certificates:
        try:
            key = certificate.public_key()
        except (ValueError, UnsupportedAlgorithm):  # a well-formed certificate with an unusual key type
            raise KeyProblem("The certificate's public key type is not supported.") from None
        keys.append(ClientKey(kid=None, key=key, algorithms=algorithms_for(key), source="certificate"))
    return keys


# --- jwks_uri ---------------------------------------------------------------------------------
class JWKSFetchError(Exception):
    pass


def fetch_jwks(uri):
    """GET a JWKS: timeout, no redirects, at most JWKS_FETCH_MAX_BYTES read (streamed)."""
    limit = settings.JWKS_FETCH_MAX_BYTES
    try:
        with (
            httpx.Client(timeout=settings.JWKS_FETCH_TIMEOUT, follow_redirects=False) as http,
            http.stream("GET", uri, headers={"Accept": "application/jwk-set+json, application/json"}) as response,
        ):
            if response.status_code != 200:
                raise JWKSFetchError(f"HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise JWKSFetchError(f"response larger than {limit} bytes")
    except httpx.HTTPError as error:
        raise JWKSFetchError(type(error).__name__) from None
    try:
        jwks = json.loads(bytes(body))
    except ValueError:
        raise JWKSFetchError("response is not JSON") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JWKSFetchError('response is not a JWKS (no "keys" list)')
    return jwks


def _cache_keys(client):
    tag = hashlib.sha256(f"{client.client_id}\x00{client.jwks_uri}".encode()).hexdigest()[:32]
    return f"oauth_server:jwks_uri:{tag}", f"oauth_server:jwks_uri_refetch:{tag}"


def _kids(jwks):
    return {k.get("kid") for k in jwks.get("keys", []) if isinstance(k, dict)}


def jwks_from_uri(client, kid=None):
    """The client's JWKS from its jwks_uri: cached; refetched (rate-limited) for an unknown `kid`."""
    cache_key, refetch_key = _cache_keys(client)
    cached = cache.get(cache_key)
    if cached is not None:
        if kid is None or kid in _kids(cached):
            return cached
        # An unknown kid: the client may have rotated its keys. Ask again, at most once per interval.
        if not cache.add(refetch_key, True, timeout=settings.JWKS_REFETCH_INTERVAL_SECONDS):
            return cached
    try:
        fetched = fetch_jwks(client.jwks_uri)
    except JWKSFetchError as error:
        log.warning("could not fetch the JWKS of client %s from its jwks_uri: %s", client.client_id, error)
        # Keep what we had; remember the failure for an interval so that a dead or slow URI is not
        # fetched (and waited for) on every request.
        fallback = cached if cached is not None else {"keys": []}
        cache.set(cache_key, fallback, timeout=settings.JWKS_REFETCH_INTERVAL_SECONDS)
        cache.set(refetch_key, True, timeout=settings.JWKS_REFETCH_INTERVAL_SECONDS)
        return fallback
    cache.set(cache_key, fetched, timeout=settings.JWKS_CACHE_SECONDS)
    return fetched


# --- all of a client's keys ---------------------------------------------------------------------------
def client_public_keys(client, kid=None):
    """Every public key registered for `client` (a registered JWKS, its jwks_uri, its certificate)."""
    keys = []
    if client.jwks:
        keys += _lenient_jwks(client.jwks, "jwks")
    if client.certificate:
        try:
            keys += parse_certificates(client.certificate)
        except KeyProblem:
            log.warning("client %s has an unusable certificate", client.client_id)
    if client.jwks_uri:
        known = {k.kid for k in keys}
        wanted = kid if kid is not None and kid not in known else None
        keys += _lenient_jwks(jwks_from_uri(client, kid=wanted), "jwks_uri")
    return keys
