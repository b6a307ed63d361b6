"""Bearer tokens on the protected APIs and the gateway (RFC 6750 §2.1, the Authorization header only)."""

from rest_framework.authentication import BaseAuthentication

from oauth_server.tokens import find_active_access_token

from .exceptions import InvalidRequest, InvalidToken


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` → (resource owner or None, DOT AccessToken). One indexed lookup."""

    def authenticate(self, request):
        # RFC 6750 §2.3 allows the URI query parameter, RFC 9700 §2.4 says not to: tokens in URLs end up in logs.
        if "access_token" in request.query_params:
            raise InvalidRequest("Send the access token in the Authorization header, not in the URL.")
        raw_token = bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
        if raw_token is None:
            return None  # no bearer credentials: the permission class answers 401
        access_token = find_active_access_token(raw_token)
        if access_token is None:
            raise InvalidToken()
        return access_token.user, access_token

    def authenticate_header(self, request):
        # DRF answers 401 only when the authenticator names a scheme; the handler adds the RFC 6750 parameters.
        return "Bearer"


def bearer_token(header):
    """The token of an `Authorization: Bearer <token>` header value, or None for any other scheme."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":  # RFC 9110 §11.1: the scheme name is case-insensitive
        return None
    credentials = credentials.strip()
    if not credentials or " " in credentials:
        raise InvalidToken("The Authorization header is not 'Bearer <token>'.")
    return credentials
