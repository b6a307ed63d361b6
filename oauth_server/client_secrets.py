"""Client secrets: generated here, stored as a keyed fast hash, compared in constant time.

Secrets are 256-bit random strings, so a slow password hash buys nothing but ~240 ms of CPU per
token request. HMAC-SHA-256 with a server key means a leaked database alone does not let anyone
check candidate secrets.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare

PREFIX = "hmac-sha256$"
SECRET_BYTES = 32  # 256 bits of entropy

# Hashed for unknown clients so that they cost the same as a wrong secret.
_DUMMY_HASH = PREFIX + "0" * 64


def _key():
    key = settings.CLIENT_SECRET_HASH_KEY or settings.SECRET_KEY
    return hashlib.sha256(b"oauth_server.client_secret:" + key.encode()).digest()


def generate_client_secret():
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_client_secret(secret):
    return PREFIX + hmac.new(_key(), secret.encode(), hashlib.sha256).hexdigest()


def check_client_secret(secret, stored_hash):
    """True when `secret` matches `stored_hash`; costs the same whether or not a hash is stored."""
    expected = stored_hash if stored_hash and stored_hash.startswith(PREFIX) else _DUMMY_HASH
    matches = constant_time_compare(hash_client_secret(secret or ""), expected)
    return matches and expected is stored_hash
