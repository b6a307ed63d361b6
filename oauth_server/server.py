"""The oauthlib server: the standard grants, tuned to our clients and to RFC 9700."""

from oauthlib.oauth2 import BearerToken, Server as OAuthlibServer
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256

from .constants import GrantType


class ClientBearerToken(BearerToken):
    """Bearer tokens whose lifetime and refresh token follow the client's registration."""

    def create_token(self, request, refresh_token=False, **kwargs):
        client = request.client
        # A refresh token is issued only to clients allowed to use it (RFC 6749 §1.5).
        refresh_token = refresh_token and client is not None and client.allows_grant_type(GrantType.REFRESH_TOKEN)
        return super().create_token(request, refresh_token=refresh_token, **kwargs)


def _client_expires_in(request):
    return request.client.access_token_expires_in()


class Server(OAuthlibServer):
    def __init__(self, request_validator, token_expires_in=None, token_generator=None,
                 refresh_token_generator=None, *args, **kwargs):
        super().__init__(request_validator, token_expires_in, token_generator, refresh_token_generator,
                         *args, **kwargs)
        self.bearer = ClientBearerToken(request_validator, token_generator, _client_expires_in,
                                        refresh_token_generator)
        self._default_token_type = self.bearer
        self._tokens = {"Bearer": self.bearer}
        # RFC 9700 §2.1.1: only S256. "plain", and a challenge without a method (which defaults to
        # plain, RFC 7636 §4.3), are refused at the authorization endpoint.
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
        # No device flow here.
        self._grant_types.pop("urn:ietf:params:oauth:grant-type:device_code", None)
