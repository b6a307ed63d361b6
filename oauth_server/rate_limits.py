"""Rate limits of the token, revocation and introspection endpoints: per client and per client IP.

settings.RATE_LIMITS = {"token": {"client": "600/m", "ip": "1200/m"}, "revoke": {...}, "introspect": {...}}
(read from RATE_LIMIT_<ENDPOINT>_PER_CLIENT / _PER_IP; None turns a limit off).

Fixed windows counted in Django's cache: with Redis (REDIS_URL) every process on every machine shares
the counts, and each request costs one round trip (SET NX EX + INCR per limit, in one MULTI pipeline);
with another cache backend, an incr per limit (plus an add when a window opens). Over a limit the
answer is 429 with Retry-After (the seconds until the window ends) and an RFC 6749 §5.2 body whose
error is "slow_down" (the token endpoint error registered by RFC 8628 §3.5 for "poll less often").

The client of the per-client limit is the one the request names, unverified: the Basic header, the
client_id parameter, or the `iss` of a client assertion (or of a JWT-bearer grant's assertion). It is
used for nothing else. The address is config.middleware.client_ip (X-Forwarded-For from TRUSTED_PROXIES).

If the cache cannot be reached the request is let through and a warning logged: a rate limit protects
the server, it must not take the token endpoint down with the cache.
"""

import base64
import binascii
import hashlib
import logging
import math
import re
import time
from functools import lru_cache
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import JsonResponse

from config.middleware import client_ip

from .constants import GrantType
from .jwt_assertions import unverified_issuer

log = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@lru_cache(maxsize=64)
def parse_rate(rate):
    """"600/m" -> (600, 60); "100/10s" -> (100, 10); None, "" or "0" -> None."""
    if not rate or rate == "0":
        return None
    match = re.fullmatch(r"(\d+)/(\d*)([smhd])", rate.strip().lower())
    if not match:
        raise ValueError(f"not a rate: {rate!r}")
    count, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
    if count == 0:
        return None
    return count, multiple * UNIT_SECONDS[unit]


def client_named_by(request):
    """The client_id the request claims to be from, unverified; None if it names none."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        client_id, sep, _secret = decoded.partition(":")
        if sep and client_id:
            return unquote_plus(client_id)
    if request.content_type != FORM_CONTENT_TYPE:
        return None
    post = request.POST
    if post.get("client_id"):
        return post["client_id"]
    assertion = post.get("client_assertion")
    if not assertion and post.get("grant_type") == GrantType.JWT_BEARER:
        assertion = post.get("assertion")  # RFC 7523 §3.1: without client authentication, iss is the client
    return unverified_issuer(assertion) if assertion else None


def _digest(value):
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


def check(request, endpoint):
    """None when `request` is within the limits of `endpoint` ("token", "revoke", "introspect"); else the 429."""
    rules = settings.RATE_LIMITS.get(endpoint) or {}
    now = time.time()
    counters = []  # (cache key, limit, window length, seconds left in the window)
    for kind, who in (("client", client_named_by), ("ip", client_ip)):
        rate = parse_rate(rules.get(kind))
        if rate is None:
            continue
        value = who(request)
        if not value:
            continue
        limit, period = rate
        window = int(now // period)
        key = f"ratelimit:{endpoint}:{kind}:{period}:{window}:{_digest(value)}"
        counters.append((key, limit, period, (window + 1) * period - now))
    if not counters:
        return None
    try:
        counts = _increment([(key, period) for key, _limit, period, _left in counters])
    except Exception as error:  # noqa: BLE001 - any cache failure: let the request through
        log.warning("rate limits not applied, the cache failed: %s", error)
        return None
    over = [left for (_key, limit, _period, left), count in zip(counters, counts) if count > limit]
    if not over:
        return None
    return too_many_requests(max(1, math.ceil(max(over))))


def _increment(counters):
    """Add one to each counter (created with a lifetime of its window); return the new counts."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = backend._cache.get_client(write=True).pipeline(transaction=True)
        for key, period in counters:
            full_key = backend.make_and_validate_key(key)
            pipe.set(full_key, 0, ex=period + 1, nx=True)
            pipe.incr(full_key)
        return pipe.execute()[1::2]
    counts = []
    for key, period in counters:
        try:
            counts.append(backend.incr(key))
        except ValueError:
            counts.append(1 if backend.add(key, 1, timeout=period + 1) else backend.incr(key))
    return counts


def too_many_requests(retry_after):
    response = JsonResponse({
        "error": "slow_down",
        "error_description": f"Too many requests: try again in {retry_after} seconds.",
    }, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
