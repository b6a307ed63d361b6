"""OpsMiddleware: answers the probes and /metrics first, and records every response in the metrics.

Install it first in MIDDLEWARE, so that
- /healthz, /readyz and /metrics are answered before ALLOWED_HOSTS, the HTTPS redirect or any other
  middleware runs: an orchestrator probing a pod by its IP over plain HTTP gets the real answer, not a
  400 (DisallowedHost) or a 301 to https that a probe would count as success;
- the latency it records covers the whole middleware stack.

What it derives from responses (no view of oauth_server/ or resources/ is changed for it):
- tokens issued: a 200 from the token endpoint, by the request's grant_type; an authorization endpoint
  redirect carrying access_token (implicit);
- OAuth errors: the JSON `error` of 4xx/5xx answers of /oauth/* and /api/*, the `error` parameter of
  authorization endpoint redirects;
- gateway upstream errors: 502/504 answered by the gateway itself, 5xx answered by the upstream, and an
  upstream body that breaks off while being streamed.
Recording never breaks a response: a failure to record is logged and the response goes out unchanged.
"""

import ipaddress
import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.views.defaults import page_not_found

from . import metrics as m
from . import views

log = logging.getLogger(__name__)

PROBES = {
    "/healthz": ("ops:healthz", views.healthz),
    "/readyz": ("ops:readyz", views.readyz),
    "/metrics": ("ops:metrics", views.metrics),
}
# Endpoints whose JSON error bodies are ours (the gateway's upstreams answer with bodies of their own).
OAUTH_ERROR_NAMESPACES = ("oauth", "resources")
MAX_ERROR_BODY = 16 * 1024
UNMATCHED = "unmatched"  # no URL pattern was resolved: 404s, the HTTPS redirect, DisallowedHost


class OpsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # A bad METRICS_ALLOWED_IPS or TRUSTED_PROXIES stops the worker at start-up, not at the first scrape.
        try:
            views.allowed_networks()
            [ipaddress.ip_network(v, strict=False) for v in getattr(settings, "TRUSTED_PROXIES", [])]
        except ValueError as error:
            raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS / TRUSTED_PROXIES: {error}") from None

    def __call__(self, request):
        started = time.perf_counter()
        probe = PROBES.get(request.path_info)
        if probe is not None:
            endpoint, view = probe
            try:
                response = view(request)
            except Http404 as not_found:
                # The site's ordinary 404 page (the production one even with DEBUG: it needs no valid Host).
                response = page_not_found(request, not_found)
        else:
            endpoint = None
            response = self.get_response(request)
        try:
            self.record(request, response, endpoint, time.perf_counter() - started)
        except Exception:
            log.exception("ops: could not record the metrics of a response")
        return response

    # --- recording ------------------------------------------------------------------------------
    def record(self, request, response, endpoint, elapsed):
        match = getattr(request, "resolver_match", None)
        if endpoint is None:
            endpoint = (match.view_name or match.route) if match is not None else UNMATCHED
        method = m.bounded(request.method, m.HTTP_METHODS)
        status = response.status_code
        m.REQUESTS.labels(endpoint, method, str(status)).inc()
        m.LATENCY.labels(endpoint, method).observe(elapsed)
        namespace = endpoint.partition(":")[0] if ":" in endpoint else ""
        if endpoint == "oauth:authorize":
            self._record_authorization_redirect(response)
        elif endpoint == "oauth:token" and status == 200:
            m.TOKENS_ISSUED.labels(m.bounded(request.POST.get("grant_type"), m.GRANT_TYPES)).inc()
        elif endpoint == "gateway:forward":
            self._record_gateway(match, response)
        if status >= 400 and namespace in OAUTH_ERROR_NAMESPACES:
            error = _json_error(response)
            if error is not None:
                m.OAUTH_ERRORS.labels(endpoint, m.bounded(error, m.OAUTH_ERROR_CODES)).inc()

    def _record_authorization_redirect(self, response):
        if response.status_code not in (301, 302, 303, 307, 308):
            return
        location = urlsplit(response.get("Location", ""))
        if location.path.startswith(("/oauth/", "/accounts/")) and not location.netloc:
            return  # to the login page, not to the client
        params = parse_qs(location.fragment or location.query)
        if "error" in params:
            m.OAUTH_ERRORS.labels("oauth:authorize", m.bounded(params["error"][0], m.OAUTH_ERROR_CODES)).inc()
        elif "access_token" in params:
            m.TOKENS_ISSUED.labels("implicit").inc()
            m.AUTHORIZATIONS.labels("token").inc()
        elif "code" in params:
            m.AUTHORIZATIONS.labels("code").inc()

    def _record_gateway(self, match, response):
        route = (match.kwargs.get("prefix") if match is not None else None) or ""
        status = response.status_code
        if response.streaming:  # the upstream answered: its own status, its body still to come
            if status >= 500:
                m.GATEWAY_UPSTREAM_ERRORS.labels(route, "upstream_5xx").inc()
            response.streaming_content = _counting_breaks(response.streaming_content, route)
        elif status == 502:
            m.GATEWAY_UPSTREAM_ERRORS.labels(route, "unreachable").inc()
        elif status == 504:
            m.GATEWAY_UPSTREAM_ERRORS.labels(route, "timeout").inc()


def _counting_breaks(chunks, route):
    try:
        yield from chunks
    except Exception:
        m.GATEWAY_UPSTREAM_ERRORS.labels(route, "broken_body").inc()
        raise


def _json_error(response):
    """The `error` member of a JSON error body, or None."""
    if response.streaming or not response.get("Content-Type", "").startswith("application/json"):
        return None
    content = response.content
    if len(content) > MAX_ERROR_BODY:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    if not isinstance(body, dict) or "error" not in body:
        return None  # e.g. a field validation error of the APIs: not an OAuth error
    return body["error"] if isinstance(body["error"], str) else m.OTHER
