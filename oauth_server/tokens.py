"""Looking up the tokens we issued. Every endpoint that accepts our access tokens asks here."""

from oauth2_provider.models import get_access_token_model

from .models import token_checksum

AccessToken = get_access_token_model()


def find_active_access_token(raw_token):
    """The live access token for `raw_token`: not expired, not revoked, its client enabled; else None."""
    if not raw_token or len(raw_token) > 4096:
        return None
    access_token = (
        AccessToken.objects.select_related("user", "application")
        .filter(token_checksum=token_checksum(raw_token))
        .first()
    )
    if access_token is None or access_token.is_expired():
        return None
    if access_token.application is None or not access_token.application.enabled:
        return None
    return access_token
