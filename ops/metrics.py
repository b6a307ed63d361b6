"""Prometheus metrics (prometheus-client): what the server answered, how fast, which tokens it issued, which
OAuth errors it returned, and how the gateway's upstreams failed.

Every label value comes from a small, fixed vocabulary: URL names (never raw paths), HTTP methods, status
codes, the grant types and error codes the RFCs define, gateway route prefixes (registered by an admin).
Anything else is counted as "other". No token, client secret, client_id or user name is ever a label value.

Several worker processes (gunicorn): set PROMETHEUS_MULTIPROC_DIR to an empty, writable directory in the
environment of the gunicorn master, so every worker writes its samples there and /metrics adds them up
(prometheus-client's multiprocess mode). The directory must be emptied when the server starts: the
gunicorn config imports ops/gunicorn_hooks.py, whose `on_starting` hook does that.
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

from oauth_server.constants import GrantType

# Latency buckets (seconds) for an API that answers most calls in a few milliseconds and a token request
# with PBKDF2 password checks or a SAML signature check in a few hundred.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by endpoint (the URL name), method and status code.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, until the response headers (a streamed body is not included).",
    ["endpoint", "method"], buckets=LATENCY_BUCKETS,
)
TOKENS_ISSUED = Counter(
    "oauth_tokens_issued", "Access tokens issued, by grant type (token endpoint, and the implicit grant).",
    ["grant_type"],
)
# Every metric has labels: in multiprocess mode a metric without labels would open its file in
# PROMETHEUS_MULTIPROC_DIR at import, in every process that imports Django (manage.py commands too).
AUTHORIZATIONS = Counter(
    "oauth_authorizations", "Authorization responses that sent the client a code or (implicit) a token.",
    ["response_type"],
)
OAUTH_ERRORS = Counter(
    "oauth_errors", "OAuth errors answered (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009), by endpoint and error code.",
    ["endpoint", "error"],
)
GATEWAY_UPSTREAM_ERRORS = Counter(
    "gateway_upstream_errors",
    "Gateway calls whose upstream failed: unreachable (502), timeout (504), upstream_5xx (the upstream "
    "answered 5xx), broken_body (the upstream's body broke off while streaming). By route prefix.",
    ["route", "kind"],
)

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
GRANT_TYPES = set(GrantType.values)
# RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 8707 §2, OpenID Connect's prompt=none
# errors, and the error codes of our API and gateway responses.
OAUTH_ERROR_CODES = {
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
    "invalid_scope", "access_denied", "unsupported_response_type", "server_error", "temporarily_unavailable",
    "unsupported_token_type", "invalid_token", "insufficient_scope", "invalid_target",
    "consent_required", "login_required", "interaction_required",
    "not_found", "method_not_allowed", "not_acceptable", "unsupported_media_type", "parse_error",
    "permission_denied", "throttled", "too_many_requests", "slow_down",
    "bad_gateway", "gateway_timeout", "length_required", "request_too_large",
}
OTHER = "other"


def bounded(value, vocabulary):
    """`value` if it is one of `vocabulary`, else "other": a label never takes a value a caller made up."""
    return value if isinstance(value, str) and value in vocabulary else OTHER


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or ""


def exposition(accept=""):
    """(body, content type): this process's samples, or every worker's in multiprocess mode. The format
    follows the scraper's Accept header (Prometheus text 0.0.4 by default, OpenMetrics when asked).
    Raises ValueError when PROMETHEUS_MULTIPROC_DIR names no directory."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
