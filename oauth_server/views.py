"""Thin views around oauthlib: parse and reject malformed requests, call, shape the response."""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.oauth2_validators import is_valid_resource_uri
from oauth2_provider.views.mixins import OAuthLibMixin

from . import rate_limits, signing_keys
from .constants import (
    ASSERTION_SIGNING_ALGORITHMS,
    SUPPORTED_CLIENT_AUTH_METHODS,
    SUPPORTED_GRANT_TYPES,
    ClientAuthMethod,
)
from .models import Client, Consent, Scope, consent_grant
from .tokens import find_active_access_token

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def oauth_error(error, description, status=400):
    """An RFC 6749 §5.2 error response."""
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


PARAMETER_NAME = re.compile(r"^[a-z_]{1,40}$")  # every OAuth parameter name looks like this


def malformed_request_error(request):
    """The §5.2 error for a POST that oauthlib should not even see, or None."""
    if request.method != "POST":
        response = oauth_error("invalid_request", "Use POST.", status=405)
        response["Allow"] = "POST"
        return response
    if request.content_type != FORM_CONTENT_TYPE:
        return oauth_error("invalid_request", f"The request body must be {FORM_CONTENT_TYPE}.")
    # RFC 6749 §3.1 and §3.2: parameters MUST NOT be included more than once.
    for name, values in request.POST.lists():
        if len(values) > 1:
            named = name if PARAMETER_NAME.match(name) else "a"  # never echo arbitrary input
            return oauth_error("invalid_request", f"Duplicate {named} parameter.")
        if "\x00" in name or "\x00" in values[0]:
            return oauth_error("invalid_request", "Parameters may not contain NUL characters.")
    return None


def shape_endpoint_response(headers, body, status):
    response = HttpResponse(content=body or "", status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    if status == 401:
        # RFC 6749 §5.2: failed client authentication names the scheme the client should use.
        response["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


@method_decorator(csrf_exempt, name="dispatch")
class ClientAuthenticatedEndpoint(OAuthLibMixin, View):
    """Token, revocation and introspection: form POSTs authenticated by the client."""

    http_method_names = ["post", "get", "put", "patch", "delete", "head", "options"]

    def dispatch(self, request, *args, **kwargs):
        # Rate limits per client and per address (the URL names: token, revoke, introspect).
        limited = rate_limits.check(request, getattr(request.resolver_match, "url_name", None))
        if limited is not None:
            return limited
        error = malformed_request_error(request)
        if error is not None:
            return error
        _uri, headers, body, status = self.respond(request)
        return shape_endpoint_response(headers, body, status)


class TokenView(ClientAuthenticatedEndpoint):
    def respond(self, request):
        if not request.POST.get("grant_type"):
            # RFC 6749 §5.2: a missing parameter is invalid_request (oauthlib would say unsupported_grant_type).
            error = oauth_error("invalid_request", "Missing grant_type parameter.")
            return None, {}, error.content, 400
        if request.POST["grant_type"] == "refresh_token":
            # One transaction, so that validate_refresh_token's row lock serialises concurrent uses of
            # the same refresh token: exactly one rotates it, the others see it revoked (reuse).
            with transaction.atomic():
                return self.create_token_response(request)
        return self.create_token_response(request)


class RevokeView(ClientAuthenticatedEndpoint):
    def respond(self, request):
        return self.create_revocation_response(request)


class IntrospectView(ClientAuthenticatedEndpoint):
    def respond(self, request):
        return self.get_oauthlib_core().create_introspect_response(request)


@method_decorator(csrf_exempt, name="dispatch")
class TokenInfoView(View):
    """What a client may learn about a token it holds, without client credentials (like Google's tokeninfo)."""

    def get(self, request):
        return self.describe(request.GET.get("access_token"))

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = oauth_error("invalid_request", "Use GET or POST.", status=405)
        response["Allow"] = "GET, POST"
        return response

    def post(self, request):
        return self.describe(request.POST.get("access_token"))

    def describe(self, raw_token):
        access_token = find_active_access_token(raw_token)
        if access_token is None:
            response = JsonResponse({"error": "invalid_token", "error_description": "The token is invalid, expired or revoked."}, status=400)
        else:
            response = JsonResponse(token_info(access_token))
        response["Cache-Control"] = "no-store"
        return response


def token_info(access_token):
    client_id = access_token.application.client_id
    info = {
        "audience": client_id,
        "client_id": client_id,
        "scope": access_token.scope,
        "expires_in": max(0, int((access_token.expires - timezone.now()).total_seconds())),
        "token_type": "Bearer",
    }
    if access_token.user is not None:
        info["user_id"] = access_token.user.subject
        info["username"] = access_token.user.get_username()
    return info


class ConsentView(dot_views.AuthorizationView):
    """The authorization endpoint: log in, then approve the client once per scope set."""

    template_name = "oauth_server/consent.html"

    def get(self, request, *args, **kwargs):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        client = Client.objects.get(client_id=credentials["client_id"])
        prompt = set(request.GET.get("prompt", "").split())
        remembered = Consent.objects.covering(request.user, client, scopes)
        # RFC 8707 resource indicators: a list of absolute URIs; anything else takes DOT's path, which
        # answers invalid_target.
        resources = [r for r in request.GET.getlist("resource") if r]
        if all(is_valid_resource_uri(r) for r in resources):
            credentials["resource"] = resources
        else:
            remembered = None
        if remembered and not prompt & {"consent", "login"}:
            try:
                uri, _headers, _body, _status = self.create_authorization_response(
                    request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
                )
            except OAuthToolkitError as error:
                return self.error_response(error, client)
            return self.redirect(uri, client)
        if "none" in prompt:
            params = {"error": "consent_required", "state": credentials.get("state") or ""}
            separator = "&" if "?" in credentials["redirect_uri"] else "?"
            return self.redirect(credentials["redirect_uri"] + separator + urlencode(params), client)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        descriptions = dict(Scope.objects.filter(name__in=kwargs.get("scopes", [])).values_list("name", "description"))
        context["scope_rows"] = [(name, descriptions.get(name, name)) for name in kwargs.get("scopes", [])]
        return context

    def form_valid(self, form):
        client = Client.objects.filter(client_id=form.cleaned_data.get("client_id")).first()
        scopes = (form.cleaned_data.get("scope") or "").split()
        if client is None or not set(scopes) <= client.allowed_scope_names():
            return HttpResponseBadRequest("The authorization form was altered.")
        if form.cleaned_data.get("allow"):
            consent_grant(user=self.request.user, client=client, scopes=scopes, request=self.request)
        return super().form_valid(form)

    def redirect(self, redirect_to, application):
        # Every redirect back to the client may carry a code or a token (or state): no Referer from it.
        response = super().redirect(self.authorization_response_uri(redirect_to), application)
        response["Referrer-Policy"] = "no-referrer"
        return response

    def authorization_response_uri(self, uri):
        """Every answer to the client names us (RFC 9207 §2, errors included); implicit answers,
        errors included, travel in the fragment (RFC 6749 §4.2.2.1)."""
        parts = urlsplit(uri)
        query = parse_qsl(parts.query, keep_blank_values=True)
        fragment = parse_qsl(parts.fragment, keep_blank_values=True)
        implicit = (self.request.POST.get("response_type") or self.request.GET.get("response_type")) == "token"
        if implicit and any(name == "error" for name, _ in query):
            answer = {"error", "error_description", "error_uri", "state"}
            fragment += [(n, v) for n, v in query if n in answer]
            query = [(n, v) for n, v in query if n not in answer]
        if not any(name == "iss" for name, _ in query + fragment):
            (fragment if implicit else query).append(("iss", settings.OAUTH_ISSUER))
        return urlunsplit(parts._replace(query=urlencode(query), fragment=urlencode(fragment)))


def absolute(path):
    return settings.OAUTH_ISSUER + path


class MetadataView(View):
    """RFC 8414 authorization server metadata, listing only what this server does."""

    def get(self, request):
        auth_methods = list(SUPPORTED_CLIENT_AUTH_METHODS)
        data = {
            "issuer": settings.OAUTH_ISSUER,
            "jwks_uri": absolute(reverse("jwks")),
            "authorization_endpoint": absolute(reverse("oauth:authorize")),
            "token_endpoint": absolute(reverse("oauth:token")),
            "revocation_endpoint": absolute(reverse("oauth:revoke")),
            "introspection_endpoint": absolute(reverse("oauth:introspect")),
            "tokeninfo_endpoint": absolute(reverse("oauth:tokeninfo")),
            "response_types_supported": ["code", "token"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": list(SUPPORTED_GRANT_TYPES),
            "scopes_supported": list(Scope.objects.values_list("name", flat=True)),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGORITHMS),
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGORITHMS),
            "introspection_endpoint_auth_methods_supported": [
                m for m in auth_methods if m != ClientAuthMethod.NONE
            ],
            "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGORITHMS),
            "authorization_response_iss_parameter_supported": True,
        }
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = "public, max-age=300"
        return response


class JWKSView(View):
    """RFC 7517 §5: the public keys that verify our JWT access tokens (RFC 9068 §4)."""

    def get(self, request):
        response = JsonResponse(signing_keys.published_jwks())
        response["Content-Type"] = "application/jwk-set+json"
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = f"public, max-age={settings.JWKS_MAX_AGE_SECONDS}"
        return response
