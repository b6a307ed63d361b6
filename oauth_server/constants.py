"""Names from the RFCs, written once."""

from django.db import models


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code (RFC 6749 §4.1)"
    IMPLICIT = "implicit", "Implicit (RFC 6749 §4.2, legacy)"
    PASSWORD = "password", "Resource owner password (RFC 6749 §4.3, legacy)"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials (RFC 6749 §4.4)"
    REFRESH_TOKEN = "refresh_token", "Refresh token (RFC 6749 §6)"
    JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer", "JWT bearer (RFC 7523)"
    SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer", "SAML 2.0 bearer (RFC 7522)"


# The grant types the token and authorize endpoints implement today; metadata lists exactly these.
SUPPORTED_GRANT_TYPES = [
    GrantType.AUTHORIZATION_CODE,
    GrantType.IMPLICIT,
    GrantType.PASSWORD,
    GrantType.CLIENT_CREDENTIALS,
    GrantType.REFRESH_TOKEN,
    GrantType.JWT_BEARER,
    GrantType.SAML2_BEARER,
]

# django-oauth-toolkit spells two grants its own way; its internals call allows_grant_type() with these.
DOT_GRANT_ALIASES = {
    "authorization-code": GrantType.AUTHORIZATION_CODE,
    "client-credentials": GrantType.CLIENT_CREDENTIALS,
}

# Grants that send the user's browser to a redirect URI.
REDIRECTING_GRANTS = {GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT}


class ClientAuthMethod(models.TextChoices):
    CLIENT_SECRET_BASIC = "client_secret_basic", "client_secret_basic (HTTP Basic)"
    CLIENT_SECRET_POST = "client_secret_post", "client_secret_post (form body)"
    PRIVATE_KEY_JWT = "private_key_jwt", "private_key_jwt (signed JWT, RFC 7523 §2.2)"
    NONE = "none", "none (public client)"


SUPPORTED_CLIENT_AUTH_METHODS = [
    ClientAuthMethod.CLIENT_SECRET_BASIC,
    ClientAuthMethod.CLIENT_SECRET_POST,
    ClientAuthMethod.PRIVATE_KEY_JWT,
    ClientAuthMethod.NONE,
]

# RFC 7523 §2.2: the client_assertion_type of private_key_jwt.
CLIENT_ASSERTION_TYPE_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# Algorithms accepted on JWTs that clients sign (assertions and client assertions). No "none", no HMAC.
ASSERTION_SIGNING_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]

# Algorithms this server signs its own JWTs (access tokens) with.
SERVER_SIGNING_ALGORITHMS = ["RS256", "ES256"]


class AccessTokenFormat(models.TextChoices):
    OPAQUE = "opaque", "Opaque (a random string; checked by introspection)"
    JWT = "jwt", "JWT (RFC 9068; verifiable with the server's JWKS)"
