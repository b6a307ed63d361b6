"""How Django requests are handed to oauthlib."""

from oauth2_provider.oauth2_backends import OAuthLibCore as DOTOAuthLibCore


class OAuthLibCore(DOTOAuthLibCore):
    def create_introspect_response(self, request):
        uri, http_method, body, headers = self._extract_params(request)
        headers, body, status = self.server.create_introspect_response(uri, http_method, body, headers)
        return None, headers, body, status
