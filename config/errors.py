"""Django's own 400 and 404 answers (too many fields, too large a body, an unknown path) in the endpoints' language."""

from django.http import JsonResponse
from django.views import defaults

API_PREFIXES = ("/oauth/", "/api/", "/gateway/")


def bad_request(request, exception):
    """RFC 6749 §5.2 / RFC 6750 style JSON for the OAuth endpoints and APIs; Django's page elsewhere."""
    if request.path.startswith(API_PREFIXES):
        response = JsonResponse({"error": "invalid_request",
                                 "error_description": "The request is malformed or too large."}, status=400)
        response["Cache-Control"] = "no-store"
        return response
    return defaults.bad_request(request, exception)


def not_found(request, exception):
    """A path no view serves: JSON under the API prefixes (their documented 404), Django's page elsewhere."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": "not_found", "error_description": "Nothing is served at this path."},
                            status=404)
    return defaults.page_not_found(request, exception)
