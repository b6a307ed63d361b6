"""JWT access tokens: RFC 9068 ("JSON Web Token (JWT) Profile for OAuth 2.0 Access Tokens").

A client registered with access_token_format "jwt" gets access tokens that are JWTs signed with the
server's current key (signing_keys.py): header `typ: at+jwt` and `kid` (§2.1); claims `iss`, `exp`,
`aud`, `sub`, `client_id`, `iat`, `jti` (§2.2) and `scope` (§2.2.3). Resource servers that are not
this server verify them with /.well-known/jwks.json alone (§4).

The token is also stored the way every token is (DOT keeps its SHA-256 in AccessToken), so
revocation, expiry, the admin and a disabled client work the same for both formats: our own
endpoints (tokens.find_active_access_token) check the signature first and then that row, so a
revoked JWT stops working at once. A third party that checks only the signature cannot see
revocation before `exp`; it can ask the introspection endpoint.
"""

import secrets
import time

import jwt
from django.conf import settings
from jwt.exceptions import PyJWTError

from . import signing_keys
from .constants import AccessTokenFormat

TYP = "at+jwt"


def audience():
    return settings.JWT_ACCESS_TOKEN_AUDIENCE or settings.OAUTH_ISSUER


def random_token_generator(request):
    """An opaque access or refresh token: 256 random bits, URL-safe base64 (RFC 6750 §2.1 b64token).

    oauthlib's generate_token draws each of its 30 characters by a separate SystemRandom call (178 bits
    in 30 reads of /dev/urandom); one read of 32 bytes is stronger and about 20 times cheaper."""
    return secrets.token_urlsafe(32)


def jwt_access_token_claims(request, now=None):
    """RFC 9068 §2.2 claims for the token being issued in `request` (an oauthlib Request)."""
    now = int(time.time()) if now is None else int(now)
    client = request.client
    user = request.user if getattr(request, "grant_type", None) != "client_credentials" else None
    claims = {
        "iss": settings.OAUTH_ISSUER,
        # §2.2: sub is the resource owner, or the client itself when there is none.
        "sub": user.subject if user is not None else client.client_id,
        "aud": audience(),
        "client_id": client.client_id,
        "iat": now,
        "exp": now + int(request.expires_in),
        "jti": secrets.token_urlsafe(16),
    }
    if request.scopes:
        claims["scope"] = " ".join(request.scopes)
    return claims


def make_access_token_generator(opaque_generator=None):
    """oauthlib's token_generator: a signed JWT for clients that chose it, else an opaque token."""
    opaque_generator = opaque_generator or random_token_generator

    def generate(request):
        client = getattr(request, "client", None)
        if client is not None and getattr(client, "access_token_format", None) == AccessTokenFormat.JWT:
            return signing_keys.sign(jwt_access_token_claims(request), typ=TYP)
        return opaque_generator(request)

    return generate


def looks_like_jwt(raw_token):
    """Our opaque tokens have no dots (URL-safe base64); a JWS in compact form has exactly two."""
    return raw_token.count(".") == 2


def verify_jwt_access_token(raw_token):
    """The claims of one of our JWT access tokens if its signature (by a published key), typ, iss, aud
    and exp check out; else None. Does not look at revocation: tokens.find_active_access_token does."""
    try:
        header = jwt.get_unverified_header(raw_token)
    except PyJWTError:
        return None
    if header.get("typ") != TYP:
        return None
    found = signing_keys.published_public_key(header.get("kid"))
    if found is None:
        return None
    public_key, algorithm = found
    if header.get("alg") != algorithm:
        return None
    try:
        return jwt.decode(
            raw_token, public_key, algorithms=[algorithm], audience=audience(), issuer=settings.OAUTH_ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "client_id", "jti"]},
        )
    except PyJWTError:
        return None
