"""Django's own 400 answers (too many fields, too large a body, bad multipart) in the endpoints' language."""

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
