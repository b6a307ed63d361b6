"""The JWT-bearer authorization grant: RFC 7523 §2.1 (with RFC 7521 §4.1 and RFC 6749 §4.5).

    grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>&scope=...

Who the client is:
- when the request carries client authentication (client_secret_basic/post or private_key_jwt),
  that client is authenticated first, must be allowed this grant, and must be the assertion's `iss`;
- otherwise (RFC 7523 §3.1: client authentication is optional) the assertion's `iss` names the
  client, and the assertion's signature with that client's registered keys authenticates it.
The assertion is then checked against every rule of RFC 7523 §3 (jwt_assertions.verify_assertion).
`sub` = the client_id gives a token without a user; `sub` = a username, a token for that user.
Every failure of the assertion is `invalid_grant` with a description naming the rule (§3.1).
"""

import logging

from oauthlib.oauth2.rfc6749 import errors

import audit

from ..constants import GrantType
from .base import AssertionGrant
from ..jwt_assertions import (
    AssertionRejected,
    Purpose,
    check_form,
    expected_audiences,
    unverified_issuer,
    verify_assertion,
)

log = logging.getLogger(__name__)


class JWTBearerGrant(AssertionGrant):
    grant_type = GrantType.JWT_BEARER
    spec = "RFC 7523 §2.1"

    def authenticate_and_verify(self, request):
        assertion = request.assertion
        if self.request_validator.client_credentials_presented(request):
            # The client authenticated itself: it must be allowed the grant and be the assertion's issuer.
            self.validate_client_confidential(request)
            self.validate_grant_type(request)
            verified = self._verify(assertion, request.client, request)
        else:
            # RFC 7523 §3.1: no client authentication; the assertion's issuer is the client, and the
            # signature by one of its keys authenticates it.
            client = self._client_named_by(assertion, request)
            verified = self._verify(assertion, client, request)
            request.client, request.client_id = client, client.client_id
            self.validate_grant_type(request)

        request.user = verified.user

    def _client_named_by(self, assertion, request):
        try:
            check_form(assertion)  # size before anything is parsed, then the header
        except AssertionRejected as rejected:
            _refused(request, request.client_id, rejected.reason)
            raise errors.InvalidGrantError(description=rejected.reason, request=request) from None
        issuer = unverified_issuer(assertion)
        if request.client_id and issuer != request.client_id:
            _refused(request, request.client_id, "issuer (iss) is not the client_id of the request")
            raise errors.InvalidGrantError(description="issuer (iss) is not the client_id of the request",
                                           request=request)
        # _load_application returns None for an unknown or disabled client.
        client = self.request_validator._load_application(issuer, request) if issuer else None
        if client is None:
            log.info("JWT-bearer assertion refused: issuer is not a registered, enabled client")
            _refused(request, issuer, "issuer (iss) is not a registered, enabled client")
            raise errors.InvalidGrantError(description="issuer (iss) is not a registered, enabled client",
                                           request=request)
        return client

    def _verify(self, assertion, client, request):
        try:
            return verify_assertion(assertion, client=client, audiences=expected_audiences(),
                                    purpose=Purpose.AUTHORIZATION_GRANT)
        except AssertionRejected as rejected:
            log.info("JWT-bearer assertion of client %s refused: %s", client.client_id, rejected.reason)
            _refused(request, client, rejected.reason)
            raise errors.InvalidGrantError(description=rejected.reason, request=request) from None


def _refused(request, client, reason):
    audit.record(audit.Event.ASSERTION_REFUSED, request=request, client=client, grant_type=GrantType.JWT_BEARER,
                 detail=f"JWT bearer: {reason}")
