"""config.urls, plus the ceiling view appended at the end (as `path("bench/ceiling", ...)` would be), and the
floors of bench/floors.py.

When config/urls.py gets its own `bench/ceiling` route, that one is used and only the floors are added here.
"""

from django.http import JsonResponse
from django.urls import path

from bench import floors
from config.urls import urlpatterns as project_urlpatterns

CEILING_ROUTE = "bench/ceiling"


def ceiling(request):
    """The fastest thing this stack can answer: a small JSON document, no database, no session access."""
    return JsonResponse({"ok": True})


def _has_ceiling(patterns):
    return any(str(getattr(p, "pattern", "")) == CEILING_ROUTE for p in patterns)


urlpatterns = list(project_urlpatterns)
CEILING_FROM_PROJECT = _has_ceiling(urlpatterns)
if not CEILING_FROM_PROJECT:
    urlpatterns.append(path(CEILING_ROUTE, ceiling, name="bench-ceiling"))
# The floors of cases 2, 3 and 4 (bench/floors.py): their SQL with no OAuth framework around it.
urlpatterns += [
    path("bench/floor/client-credentials", floors.client_credentials, name="bench-floor-client-credentials"),
    path("bench/floor/introspect", floors.introspect, name="bench-floor-introspect"),
    path("bench/floor/refresh-token", floors.refresh_token, name="bench-floor-refresh-token"),
]
