"""The OpenAPI 3 description (drf-spectacular): our OAuth 2.0 security scheme, each operation's scopes, the
bearer errors, and the endpoints that are not DRF views (tokeninfo, the gateway routes)."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularSwaggerSplitView

from oauth_server.models import Scope

from .models import GatewayRoute
from .permissions import declared_scopes

SCHEME = "oauth2"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "resources.authentication.BearerTokenAuthentication"
    name = SCHEME

    def get_security_requirement(self, auto_schema):
        return {SCHEME: declared_scopes(auto_schema.view, auto_schema.method) or []}

    def get_security_definition(self, auto_schema):
        return oauth2_scheme()


def oauth2_scheme():
    """OpenAPI 3.0 §4.8.27: the flows a developer can use to get a token for these APIs."""
    token_url = settings.OAUTH_ISSUER + reverse("oauth:token")
    scopes = dict(Scope.objects.values_list("name", "description"))
    return {
        "type": "oauth2",
        "description": "Send the access token as `Authorization: Bearer <token>` (RFC 6750 §2.1); "
                       "a token in the query string is refused.",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": settings.OAUTH_ISSUER + reverse("oauth:authorize"),
                "tokenUrl": token_url, "refreshUrl": token_url, "scopes": scopes,
            },
            "clientCredentials": {"tokenUrl": token_url, "scopes": scopes},
        },
    }


# --- POSTPROCESSING_HOOKS ---------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "example": "invalid_token"},
        "error_description": {"type": "string"},
        "scope": {"type": "string", "description": "With insufficient_scope: the scopes the request needs."},
    },
}
ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description):
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


BEARER_ERRORS = {
    "400": _error("invalid_request: e.g. a token in the query string (RFC 6750 §3.1)."),
    "401": _error("invalid_token: missing, invalid, expired or revoked token, or a disabled client. "
                  'With `WWW-Authenticate: Bearer error="invalid_token"`.'),
    "403": _error("insufficient_scope: the token lacks a scope this operation needs, or has no resource owner. "
                  'With `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`.'),
}
NOT_FOUND = _error("No such object among the token's resource owner's.")
GATEWAY_ERRORS = {
    "404": _error("No enabled route has this prefix."),
    "405": _error("The route does not offer this method."),
    "413": _error("The request body is over the gateway's limit."),
    "502": _error("The upstream could not be reached."),
    "504": _error("The upstream did not answer within the route's timeout."),
}


# A photo has exactly one image source: a non-empty image_url, or an uploaded image (never both; PATCH
# changes one of them, so PatchedPhoto keeps both optional). Written so that responses, where both keys are
# always present and the unused one is "" or null, match exactly one branch too.
PHOTO_IMAGE_SOURCE = [
    {"required": ["image_url"], "properties": {"image_url": {"type": "string", "minLength": 1}}},
    {"required": ["image"], "properties": {"image": {"type": "string", "minLength": 1}}},
]


def add_bearer_errors_and_other_endpoints(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    if "Photo" in schemas:
        schemas["Photo"]["oneOf"] = PHOTO_IMAGE_SOURCE
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if any(SCHEME in requirement for requirement in operation.get("security", [])):
                for status, response in BEARER_ERRORS.items():
                    operation["responses"].setdefault(status, response)
                if "{" in path:
                    operation["responses"].setdefault("404", NOT_FOUND)
    result["paths"][reverse("oauth:tokeninfo")] = _tokeninfo_path()
    for route in GatewayRoute.objects.filter(enabled=True):
        result["paths"][f"/gateway/{route.prefix}/{{path}}"] = _gateway_path(route)
    return result


def _tokeninfo_path():
    token_param = {"name": "access_token", "in": "query", "required": True, "schema": {"type": "string"}}
    info = {
        "type": "object",
        "properties": {
            "scope": {"type": "string"}, "client_id": {"type": "string"}, "audience": {"type": "string"},
            "user_id": {"type": "string"}, "username": {"type": "string"},
            "expires_in": {"type": "integer"}, "token_type": {"type": "string", "example": "Bearer"},
        },
    }
    operation = {
        "tags": ["oauth"],
        "summary": "Describe an access token (no client authentication)",
        "security": [],
        "responses": {
            "200": {"description": "The token is valid.", "content": {"application/json": {"schema": info}}},
            "400": _error("invalid_token: the token is invalid, expired or revoked."),
        },
    }
    form = {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["access_token"], "properties": {"access_token": {"type": "string"}}}}}
    return {
        "get": {**operation, "operationId": "tokeninfo_get", "parameters": [token_param]},
        "post": {**operation, "operationId": "tokeninfo_post", "requestBody": {"required": True, "content": form}},
    }


def _gateway_path(route):
    operations = {}
    for method in route.allowed_methods:
        if method.lower() not in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            continue  # OpenAPI 3.0 §4.8.8 has no place for other methods
        operations[method.lower()] = {
            "tags": ["gateway"],
            "operationId": f"gateway_{route.prefix}_{method.lower()}",
            "summary": f"{route.name}: forwarded to the upstream API",
            "description": "Forwarded with its path rest, query string, body and headers; the upstream receives "
                           "X-Authenticated-User, X-Client-Id and X-Scopes instead of the Authorization header.",
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "The rest of the path, passed to the upstream."}],
            "security": [{SCHEME: route.scopes_for(method)}],
            "responses": {"default": {"description": "The upstream's response."}, **BEARER_ERRORS, **GATEWAY_ERRORS},
        }
    return operations


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI, every file of it served by us (drf-spectacular-sidecar)."""

    CSP = ("default-src 'self'; script-src 'self'; "
           "style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
           "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = self.CSP
        return response
