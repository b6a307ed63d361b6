"""Probes and metrics for the people and machines that run the server.

- /healthz: the process answers (liveness). Touches nothing else.
- /readyz: the process can serve (readiness): the database answers a SELECT 1 and, when REDIS_URL is
  set, the cache answers a set/get round trip. 200 {"status": "ok"} or 503 {"status": "unavailable"};
  what failed is logged, never sent.
- /metrics: Prometheus text format, for callers presenting `Authorization: Bearer <METRICS_TOKEN>` or
  connecting straight (not through a proxy) from an address in METRICS_ALLOWED_IPS; everyone else gets
  the site's ordinary 404, so the endpoint is not advertised.
None of them is ever cached, and none needs a session, a user or a token of ours.
"""

import hmac
import ipaddress
import logging
import os
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import metrics as prometheus

log = logging.getLogger(__name__)

# Headers a reverse proxy adds: a request carrying one came through a proxy, so its REMOTE_ADDR says
# nothing about the caller and the address allow-list does not apply to it.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    ready = database_ready() and cache_ready()
    return JsonResponse({"status": "ok" if ready else "unavailable"}, status=200 if ready else 503)


def database_ready():
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "not ready"; the reason goes to the log only
        log.warning("readiness: the database did not answer (%s)", type(error).__name__)
        return False
    return True


def cache_ready():
    """A set/get round trip on the shared cache; the local-memory cache (no REDIS_URL) needs no check."""
    if not getattr(settings, "REDIS_URL", ""):
        return True
    key, value = f"ops:readyz:{os.getpid()}", secrets.token_hex(8)
    try:
        cache.set(key, value, timeout=30)
        answered = cache.get(key)
    except Exception as error:
        log.warning("readiness: the cache did not answer (%s)", type(error).__name__)
        return False
    if answered != value:
        log.warning("readiness: the cache did not return what was just stored")
        return False
    return True


@never_cache
@require_safe
def metrics(request):
    if not metrics_allowed(request):
        raise Http404()
    try:
        body, content_type = prometheus.exposition(request.META.get("HTTP_ACCEPT", ""))
    except ValueError as error:  # PROMETHEUS_MULTIPROC_DIR is not a directory (also a system check error)
        log.error("metrics: %s", error)
        return HttpResponse("metrics unavailable\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=content_type)


def metrics_allowed(request):
    return _presents_metrics_token(request) or _from_allowed_address(request)


def _presents_metrics_token(request):
    expected = getattr(settings, "METRICS_TOKEN", "")
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    # WSGI hands headers over as ISO-8859-1 text: encoding back that way gives the bytes that were sent.
    return hmac.compare_digest(presented.strip().encode("latin-1"), expected.encode("utf-8"))


def allowed_networks():
    return [ipaddress.ip_network(value, strict=False) for value in getattr(settings, "METRICS_ALLOWED_IPS", [])]


def _trusted_proxy_networks():
    return [ipaddress.ip_network(value, strict=False) for value in getattr(settings, "TRUSTED_PROXIES", [])]


def _from_allowed_address(request):
    networks = allowed_networks()
    if not networks or any(request.META.get(header) for header in PROXY_HEADERS):
        return False
    try:
        remote = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if any(remote in network for network in _trusted_proxy_networks()):
        return False  # the TLS proxy forwards everybody's requests: its address proves nothing
    return any(remote in network for network in networks)
