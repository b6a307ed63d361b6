"""What the assertion grants share (RFC 7521 §4.1, RFC 6749 §4.5): the request's form and the token response."""

import json

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase


class AssertionGrant(GrantTypeBase):
    """`grant_type=<URN>&assertion=...&scope=...`; a subclass authenticates the client and sets request.user."""

    grant_type = None
    spec = None  # the RFC section that defines the assertion parameter, for error messages

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as e:
            headers.update(e.headers)
            return headers, e.json, e.status_code
        # ClientBearerToken adds a refresh token only for a user-bound token of a client allowed refresh_token.
        token = token_handler.create_token(request, refresh_token=self.refresh_token)
        for modifier in self._token_modifiers:
            token = modifier(token)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def validate_token_request(self, request):
        for validator in self.custom_validators.pre_token:
            validator(request)
        if request.grant_type != self.grant_type:
            raise errors.UnsupportedGrantTypeError(request=request)
        for param in ("grant_type", "scope", "assertion"):
            if param in request.duplicate_params:
                raise errors.InvalidRequestError(description=f"Duplicate {param} parameter.", request=request)
        if not getattr(request, "assertion", None):
            raise errors.InvalidRequestError(description=f"Missing assertion parameter ({self.spec}).",
                                             request=request)
        self.authenticate_and_verify(request)
        self.validate_scopes(request)
        for validator in self.custom_validators.post_token:
            validator(request)

    def authenticate_and_verify(self, request):
        """Authenticate the client, check it may use this grant, verify the assertion, set request.user."""
        raise NotImplementedError
