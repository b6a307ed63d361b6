"""Errors of the protected APIs and the gateway, rendered as RFC 6750 §3 bearer-token errors.

Every API error has the body {"error": <code>, "error_description": <text>}; the bearer errors also carry a
`WWW-Authenticate: Bearer error="..."` challenge. Field validation errors keep DRF's {"field": [...]} body.
"""

import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status


class BearerError(exceptions.APIException):
    """An RFC 6750 §3.1 error: the response carries a `WWW-Authenticate: Bearer` challenge."""

    scope = None

    def challenge(self):
        params = {"error": self.default_code, "error_description": _quotable(str(self.detail))}
        if self.scope:
            params["scope"] = self.scope
        return "Bearer " + ", ".join(f'{name}="{value}"' for name, value in params.items())


class InvalidRequest(BearerError):
    # RFC 6750 §3.1: a malformed request, e.g. a token sent some other way than the Authorization header.
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_request"
    default_detail = "The request is malformed."


class InvalidToken(BearerError):
    # RFC 6750 §3.1: missing, expired, revoked, malformed, or issued to a disabled client.
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_token"
    default_detail = "The access token is missing, invalid, expired or revoked."


class InsufficientScope(BearerError):
    # RFC 6750 §3.1: the request needs higher privileges than the token carries.
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "insufficient_scope"
    default_detail = "The access token lacks a scope this request needs."

    def __init__(self, scopes, detail=None):
        super().__init__(detail)
        self.scope = " ".join(scopes)


class MethodNotAllowed(exceptions.MethodNotAllowed):
    """A 405 that names what is allowed (RFC 9110 §15.5.6: the origin server MUST send Allow)."""

    def __init__(self, method, allowed):
        super().__init__(method)
        self.allowed = allowed


def api_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's handler, then our error body and bearer challenge."""
    # Imported here: rest_framework.views imports the authentication classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, exceptions.NotAuthenticated):
        # RFC 6750 §3.1 would send no error code for a request without a token; we answer invalid_token
        # for every unusable or absent token, as the gateway this server is modelled on does.
        exc = InvalidToken("The request carries no access token: send it as 'Authorization: Bearer <token>'.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return response
    if isinstance(exc, exceptions.ValidationError):
        # The same {error, error_description} shape as every other error; the per-field detail beside it.
        response.data = {"error": "invalid_request", "error_description": _validation_summary(response.data),
                         "fields": response.data}
        response["Cache-Control"] = "no-store"
        return response
    response.data = {"error": _error_code(exc), "error_description": str(exc.detail)}
    if isinstance(exc, BearerError):
        response["WWW-Authenticate"] = exc.challenge()
        if exc.scope:
            response.data["scope"] = exc.scope
    if isinstance(exc, MethodNotAllowed):
        response["Allow"] = ", ".join(exc.allowed)
    response["Cache-Control"] = "no-store"
    return response


def _validation_summary(detail):
    if isinstance(detail, dict):
        parts = [f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
                 for field, messages in detail.items()]
    else:
        parts = [str(message) for message in (detail if isinstance(detail, list) else [detail])]
    return _quotable("Invalid request: " + "; ".join(parts))[:500]


def _error_code(exc):
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _quotable(text):
    """RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E."""
    return re.sub(r'[^\x20\x21\x23-\x5b\x5d-\x7e]', "", text)
