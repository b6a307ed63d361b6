"""The SAML 2.0 bearer assertion grant: RFC 7522 §2.1 (with RFC 7521 §4.1 and RFC 6749 §4.5).

    grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer&assertion=<base64url Assertion>&scope=...

The client authenticates as for any other grant (public clients name themselves with client_id) and
must be allowed this grant. saml_bridge.assertions checks every rule of RFC 7522 §3; this module turns
its refusals into `invalid_grant` whose description names the rule (§3.1), then consumes the
assertion's ID (single use) and maps the subject to the local user the token is issued for.
"""

import logging

from oauthlib.oauth2.rfc6749 import errors

import audit
from saml_bridge import registry
from saml_bridge.assertions import (
    AssertionRejected,
    consume_assertion_id,
    decode_assertion_param,
    resolve_user,
    validate_assertion,
)

from ..constants import GrantType
from .base import AssertionGrant

log = logging.getLogger(__name__)


class SAML2BearerGrant(AssertionGrant):
    grant_type = GrantType.SAML2_BEARER
    spec = "RFC 7522 §2.1"

    def authenticate_and_verify(self, request):
        self._authenticate_client(request)
        self.validate_grant_type(request)
        request.user = self._user_from_assertion(request)

    def _authenticate_client(self, request):
        validator = self.request_validator
        if validator.client_authentication_required(request):
            if not validator.authenticate_client(request):
                raise errors.InvalidClientError(request=request)
        elif not validator.authenticate_client_id(request.client_id, request):
            raise errors.InvalidClientError(request=request)

    def _user_from_assertion(self, request):
        try:
            verified = validate_assertion(decode_assertion_param(request.assertion),
                                          audiences=registry.sp_audiences(), recipient=registry.token_endpoint_url())
            if not verified.idp.allows_client(request.client):
                raise AssertionRejected("this client may not present this identity provider's assertions")
            consume_assertion_id(verified)  # RFC 7522 §3, rule 6: after every other check passed
            return resolve_user(verified)
        except AssertionRejected as rejected:
            log.info("SAML 2.0 bearer assertion of client %s refused: %s", request.client.client_id, rejected.reason)
            audit.record(audit.Event.ASSERTION_REFUSED, request=request, client=request.client,
                         grant_type=GrantType.SAML2_BEARER, detail=f"SAML 2.0 bearer: {rejected.reason}")
            raise errors.InvalidGrantError(description=rejected.reason, request=request) from None
