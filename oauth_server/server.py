"""The oauthlib server: the standard grants, tuned to our clients and to RFC 9700, plus extension grants."""

from django.utils.module_loading import import_string
from oauth2_provider.models import get_grant_model
from oauthlib.oauth2 import BearerToken
from oauthlib.oauth2 import Server as OAuthlibServer
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256

from .access_tokens import make_access_token_generator, random_token_generator
from .constants import GrantType

# Extension grants (RFC 6749 §4.5): grant_type URN -> dotted path of a GrantTypeBase subclass.
EXTENSION_GRANTS = {
    GrantType.JWT_BEARER: "oauth_server.grants.jwt_bearer.JWTBearerGrant",
    GrantType.SAML2_BEARER: "oauth_server.grants.saml2_bearer.SAML2BearerGrant",
}


class ClientBearerToken(BearerToken):
    """Bearer tokens whose lifetime, format and refresh token follow the client's registration."""

    def create_token(self, request, refresh_token=False, **kwargs):
        client = request.client
        # A refresh token is issued only to clients allowed to use it (RFC 6749 §1.5), and only for a
        # token with a resource owner: a token without a user is re-obtained by the client itself
        # (and DOT's RefreshToken.user cannot be empty).
        refresh_token = (refresh_token and client is not None and request.user is not None
                         and client.allows_grant_type(GrantType.REFRESH_TOKEN))
        return super().create_token(request, refresh_token=refresh_token, **kwargs)


def stored_parameters_fit(request):
    """A pre-authorization check of the code grant: the parameters stored with the authorization code must
    fit their columns. Refused as invalid_request, redirected to the client (the redirect URI is checked by
    then), instead of failing at the INSERT. RFC 7636 §4.2 allows a code_challenge of at most 128 characters."""
    grant_fields = get_grant_model()._meta
    for name in ("nonce", "code_challenge"):
        value, limit = getattr(request, name, None), grant_fields.get_field(name).max_length
        if value and len(value) > limit:
            raise errors.InvalidRequestError(description=f"The {name} parameter is longer than {limit} characters.",
                                             request=request)
    return {}


def _client_expires_in(request):
    return request.client.access_token_expires_in()


class Server(OAuthlibServer):
    extension_grants = EXTENSION_GRANTS

    def __init__(self, request_validator, token_expires_in=None, token_generator=None,
                 refresh_token_generator=None, *args, **kwargs):
        super().__init__(request_validator, token_expires_in, token_generator, refresh_token_generator,
                         *args, **kwargs)
        # Access tokens: a signed JWT (RFC 9068) for clients that chose it, else opaque. Refresh tokens
        # are always opaque (BearerToken would otherwise reuse the access-token generator for them).
        self.bearer = ClientBearerToken(request_validator, make_access_token_generator(token_generator),
                                        _client_expires_in, refresh_token_generator or random_token_generator)
        self._default_token_type = self.bearer
        self._tokens = {"Bearer": self.bearer}
        # RFC 9700 §2.1.1: only S256. "plain", and a challenge without a method (which defaults to
        # plain, RFC 7636 §4.3), are refused at the authorization endpoint.
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
        self.auth_grant.custom_validators.pre_auth.append(stored_parameters_fit)
        # No device flow here.
        self._grant_types.pop("urn:ietf:params:oauth:grant-type:device_code", None)
        for grant_type, grant_class in self.extension_grants.items():
            self._grant_types[grant_type] = import_string(grant_class)(request_validator)
