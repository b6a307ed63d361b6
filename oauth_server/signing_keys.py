"""The server's own signing keys: generated, stored encrypted, published as a JWK Set, rotated.

RFC 7517 (JWK and JWK Set, served at /.well-known/jwks.json), RFC 7518 §3.3 and §3.4 (RS256 with
2048-bit RSA keys, ES256 with P-256 keys), RFC 7638 (each `kid` is the key's JWK thumbprint).

- The private half is stored as PKCS#8 PEM encrypted with Fernet (AES-128-CBC + HMAC-SHA-256) under a
  key derived by HKDF-SHA-256 from SIGNING_KEY_ENCRYPTION_KEY, or from SECRET_KEY (and, to read
  keys stored before a SECRET_KEY change, from SECRET_KEY_FALLBACKS).
- A key is created on first use (the first JWT signed or the first JWKS served), so the JWKS of a
  fresh server is never empty. Exactly one key is current (a partial unique index).
- `rotate()` makes a new current key and keeps the old ones published until every token they
  signed has expired: retire_after = now + the longest access-token lifetime in force + clock skew
  + a margin. `retire(kid)` unpublishes one early (refused for the current key).
"""

import base64
import hashlib
import json
import threading
import time
from datetime import timedelta

import jwt
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from .constants import SERVER_SIGNING_ALGORITHMS
from .models import Client, SigningKey

RSA_BITS = 2048
# Tokens may be signed by another process a moment after a rotation committed: keep old keys a bit longer.
ROTATION_MARGIN = timedelta(minutes=5)
# How long a process keeps a published public key in memory before asking the database again.
PUBLIC_KEY_CACHE_SECONDS = 60


class SigningKeyError(RuntimeError):
    """A stored signing key cannot be used (typically: the encryption key changed)."""


class RetireRefused(ValueError):
    pass


# --- encryption of the private halves ---------------------------------------------------------------
def _derived_fernet_key(secret):
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"oauth_server.signing_keys",
                info=b"private key encryption (Fernet)")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


def _fernet():
    if settings.SIGNING_KEY_ENCRYPTION_KEY:
        secrets = [settings.SIGNING_KEY_ENCRYPTION_KEY]
    else:
        secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_derived_fernet_key(s)) for s in secrets])


def _encrypt(pem):
    return _fernet().encrypt(pem).decode("ascii")


def _decrypt(token, kid):
    try:
        return _fernet().decrypt(token.encode("ascii"))
    except InvalidToken:
        raise SigningKeyError(
            f"Cannot decrypt signing key {kid}: SIGNING_KEY_ENCRYPTION_KEY (or SECRET_KEY) changed since it "
            "was made. Restore the old value (SECRET_KEY_FALLBACKS works) or run `manage.py rotatekeys`."
        ) from None


# --- making keys --------------------------------------------------------------------------------------
def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(public_jwk):
    """RFC 7638 JWK thumbprint (SHA-256): the required members, sorted, no whitespace."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[public_jwk["kty"]]
    canonical = json.dumps({m: public_jwk[m] for m in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


def _generate(algorithm):
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}; use one of {SERVER_SIGNING_ALGORITHMS}")
    jwk = {k: v for k, v in jwk.items() if k in ("kty", "n", "e", "crv", "x", "y")}
    kid = thumbprint(jwk)
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return kid, jwk, pem


def _create(algorithm, *, is_current):
    kid, jwk, pem = _generate(algorithm or settings.JWT_SIGNING_ALGORITHM)
    return SigningKey.objects.create(kid=kid, algorithm=jwk["alg"], public_jwk=jwk, private_key=_encrypt(pem),
                                     is_current=is_current)


def current_signing_key():
    """The key new JWTs are signed with; made on first use (safe when several processes race)."""
    key = SigningKey.objects.filter(is_current=True).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return _create(None, is_current=True)
    except IntegrityError:  # another process made it first
        return SigningKey.objects.get(is_current=True)


# --- signing ---------------------------------------------------------------------------------------------
_private_keys = {}  # kid -> cryptography private key; decrypting and parsing PEM on every token is slow


def _private_key(signing_key):
    private = _private_keys.get(signing_key.kid)
    if private is None:
        pem = _decrypt(signing_key.private_key, signing_key.kid)
        private = serialization.load_pem_private_key(pem, password=None)
        _private_keys[signing_key.kid] = private
    return private


def sign(claims, *, typ):
    """A compact JWS of `claims`, signed with the current key; header carries typ and kid."""
    key = current_signing_key()
    return jwt.encode(claims, _private_key(key), algorithm=key.algorithm, headers={"typ": typ, "kid": key.kid})


# --- publishing and verifying -------------------------------------------------------------------------------
def published_jwks():
    """The JWK Set of every published public key (made on first use: never empty)."""
    current_signing_key()
    return {"keys": [key.public_jwk for key in SigningKey.objects.published()]}


_public_keys = {}  # kid -> (monotonic expiry, public key, algorithm)
_public_keys_lock = threading.Lock()


def published_public_key(kid):
    """(public key, algorithm) of a published key, or None. Kept in process memory for a minute."""
    if not isinstance(kid, str):
        return None
    cached = _public_keys.get(kid)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1], cached[2]
    row = SigningKey.objects.published().filter(kid=kid).values_list("public_jwk", "algorithm").first()
    if row is None:
        with _public_keys_lock:
            _public_keys.pop(kid, None)
        return None
    jwk, algorithm = row
    public = (RSAAlgorithm if jwk["kty"] == "RSA" else ECAlgorithm).from_jwk(jwk)
    with _public_keys_lock:
        _public_keys[kid] = (time.monotonic() + PUBLIC_KEY_CACHE_SECONDS, public, algorithm)
    return public, algorithm


def forget_cached_keys():
    with _public_keys_lock:
        _public_keys.clear()
    _private_keys.clear()


# --- rotation ------------------------------------------------------------------------------------------------
def longest_access_token_lifetime():
    """Seconds: the server default or the longest per-client lifetime, whichever is longer."""
    longest = Client.objects.aggregate(longest=Max("access_token_lifetime"))["longest"] or 0
    return max(settings.ACCESS_TOKEN_EXPIRE_SECONDS, longest)


def rotate(*, algorithm=None, now=None):
    """Make a new current key; the previous one stays published until its tokens have expired.

    Returns (new key, list of the other keys still published).
    """
    now = now or timezone.now()
    retire_after = (now + timedelta(seconds=longest_access_token_lifetime() + settings.JWT_CLOCK_SKEW_SECONDS)
                    + ROTATION_MARGIN)
    with transaction.atomic():
        for old in SigningKey.objects.select_for_update().filter(is_current=True):
            old.is_current = False
            old.retire_after = retire_after
            old.save(update_fields=["is_current", "retire_after"])
        new = _create(algorithm, is_current=True)
    still = [k for k in SigningKey.objects.published(now) if k.pk != new.pk]
    return new, still


def retire(kid, *, force=False, now=None):
    """Stop publishing (and delete) a key. Refused for the current key, and, without `force`, for a key
    whose tokens may still be valid."""
    now = now or timezone.now()
    key = SigningKey.objects.filter(kid=kid).first()
    if key is None:
        raise RetireRefused(f"No signing key with kid {kid!r}.")
    if key.is_current:
        raise RetireRefused(f"{kid} is the current signing key: run `manage.py rotatekeys` first, then retire it "
                            "once the tokens it signed have expired.")
    if not force and key.retire_after and key.retire_after > now:
        raise RetireRefused(f"Tokens signed by {kid} may be valid until {key.retire_after.isoformat()} (it is "
                            "unpublished automatically then). Use --force to retire it now, e.g. after a key "
                            "compromise; its tokens then stop working.")
    key.delete()
    with _public_keys_lock:
        _public_keys.pop(kid, None)
    _private_keys.pop(kid, None)
    return key


def purge_unpublished(now=None):
    """Delete keys no longer published (their tokens have all expired). Returns their kids."""
    now = now or timezone.now()
    expired = SigningKey.objects.filter(is_current=False, retire_after__lte=now)
    kids = list(expired.values_list("kid", flat=True))
    expired.delete()
    return kids
