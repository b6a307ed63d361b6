"""Rate limits of /oauth/token, /oauth/revoke and /oauth/introspect, per client and per client IP (issue 8)."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import requests
from django.core.cache import cache
from django.test import Client, RequestFactory

from oauth_server import rate_limits
from oauth_server.constants import CLIENT_ASSERTION_TYPE_JWT_BEARER, GrantType
from tests.unit.test_jwt_support import claims, private_key, sign

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CC = {"grant_type": "client_credentials", "scope": "photos"}
FORM = "application/x-www-form-urlencoded"
NO_LIMITS = {"token": {}, "revoke": {}, "introspect": {}}
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def limits(settings):
    """Set some limits (the others off) on a cache emptied of earlier tests' counts."""
    cache.clear()

    def set_limits(**endpoints):
        settings.RATE_LIMITS = {**NO_LIMITS, **endpoints}

    yield set_limits
    cache.clear()


def token(server, client, **extra):
    return requests.post(server.token, data={**CC, **extra}, auth=(client.client_id, client.secret))


def assert_limited(response, longest=60):
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "slow_down" and response.json()["error_description"]
    assert 1 <= int(response.headers["Retry-After"]) <= longest
    assert response.headers["Cache-Control"] == "no-store"


def test_over_the_per_client_limit_is_429_with_retry_after(server, limits, backup_service, make_client):
    limits(token={"client": "3/m"})
    assert [token(server, backup_service).status_code for _ in range(3)] == [200, 200, 200]
    assert_limited(token(server, backup_service))
    # Another client from the same address is not held back.
    other = make_client("Other", scopes=["photos"])
    assert token(server, other).status_code == 200


def test_failed_requests_count_too(server, limits, backup_service):
    limits(token={"client": "2/m"})
    wrong = requests.post(server.token, data=CC, auth=(backup_service.client_id, "guess"))
    assert wrong.status_code == 401
    assert requests.post(server.token, data=CC, auth=(backup_service.client_id, "guess")).status_code == 401
    assert_limited(requests.post(server.token, data=CC, auth=(backup_service.client_id, "guess")))
    assert_limited(token(server, backup_service))


def test_over_the_per_ip_limit_is_429_whichever_client(limits, backup_service, make_client):
    limits(token={"ip": "2/m"})
    other = make_client("Other", scopes=["photos"])

    def post(client, ip):
        auth = base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()
        return Client(REMOTE_ADDR=ip).post("/oauth/token", urlencode(CC), content_type=FORM,
                                           HTTP_AUTHORIZATION=f"Basic {auth}")

    assert post(backup_service, "198.51.100.1").status_code == 200
    assert post(other, "198.51.100.1").status_code == 200
    limited = post(other, "198.51.100.1")
    assert limited.status_code == 429 and limited.json()["error"] == "slow_down"
    assert post(other, "198.51.100.2").status_code == 200


def test_per_ip_limit_uses_the_forwarded_address_only_from_trusted_proxies(settings, limits):
    limits(token={"ip": "1/m"})
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    def post(remote, forwarded):
        return Client(REMOTE_ADDR=remote).post("/oauth/token", urlencode(CC), content_type=FORM,
                                               HTTP_X_FORWARDED_FOR=forwarded)

    assert post("10.0.0.1", "198.51.100.1").status_code == 401
    assert post("10.0.0.1", "198.51.100.2").status_code == 401  # another client behind the proxy
    assert post("10.0.0.1", "198.51.100.1").status_code == 429
    assert post("203.0.113.1", "198.51.100.3").status_code == 401
    assert post("203.0.113.1", "198.51.100.4").status_code == 429  # not a proxy: its own address counts


def test_revoke_and_introspect_have_limits_of_their_own(server, limits, backup_service):
    limits(revoke={"client": "2/m"}, introspect={"client": "1/m"})
    access_token = token(server, backup_service).json()["access_token"]
    auth = (backup_service.client_id, backup_service.secret)
    assert requests.post(server.introspect, data={"token": access_token}, auth=auth).json()["active"] is True
    assert_limited(requests.post(server.introspect, data={"token": access_token}, auth=auth))
    assert requests.post(server.revoke, data={"token": "unknown"}, auth=auth).status_code == 200
    assert requests.post(server.revoke, data={"token": "unknown"}, auth=auth).status_code == 200
    assert_limited(requests.post(server.revoke, data={"token": access_token}, auth=auth))
    assert token(server, backup_service).status_code == 200  # the token endpoint is not limited here


def post_anonymously():
    return Client().post("/oauth/token", urlencode(CC), content_type=FORM)


def test_retry_after_is_the_rest_of_the_window(limits, monkeypatch):
    limits(token={"ip": "2/m"})
    now = [60 * 1_000_000 + 45.2]
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: now[0]))
    assert [post_anonymously().status_code for _ in range(2)] == [401, 401]
    limited = post_anonymously()
    assert limited.status_code == 429 and limited["Retry-After"] == "15"
    now[0] += 15  # the next window
    assert post_anonymously().status_code == 401


def test_a_multiple_of_a_unit_is_a_window(limits, monkeypatch):
    limits(token={"ip": "1/10s"})
    now = [1_000_000_003.0]
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: now[0]))
    assert post_anonymously().status_code == 401
    limited = post_anonymously()
    assert limited.status_code == 429 and limited["Retry-After"] == "7"


def test_rates_parse_and_zero_or_empty_turn_a_limit_off():
    assert rate_limits.parse_rate("600/m") == (600, 60)
    assert rate_limits.parse_rate("100/10s") == (100, 10)
    assert rate_limits.parse_rate("5/d") == (5, 86400)
    assert rate_limits.parse_rate("0") is None and rate_limits.parse_rate("") is None
    assert rate_limits.parse_rate(None) is None
    with pytest.raises(ValueError):
        rate_limits.parse_rate("lots")


def test_a_bad_rate_in_the_environment_stops_the_server_at_start_up():
    env = dict(os.environ, RATE_LIMIT_TOKEN_PER_CLIENT="fast", DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "RATE_LIMIT_TOKEN_PER_CLIENT" in done.stderr


# --- whose limit: the client the request names (unverified) -----------------------------------------------
def named(**kwargs):
    return rate_limits.client_named_by(RequestFactory().post("/oauth/token", **kwargs))


def test_client_is_named_by_the_basic_header_the_body_or_an_assertion_issuer():
    basic = base64.b64encode(b"basic-client:secret").decode()
    assert named(data=urlencode(CC), content_type=FORM, HTTP_AUTHORIZATION=f"Basic {basic}") == "basic-client"
    assert named(data=urlencode({**CC, "client_id": "post-client"}), content_type=FORM) == "post-client"
    jwt = sign(claims(iss="jwt-client", sub="jwt-client", aud="x"), private_key("ec"))
    assert named(data=urlencode({**CC, "client_assertion_type": CLIENT_ASSERTION_TYPE_JWT_BEARER,
                                 "client_assertion": jwt}), content_type=FORM) == "jwt-client"
    grant = {"grant_type": GrantType.JWT_BEARER.value, "assertion": jwt}
    assert named(data=urlencode(grant), content_type=FORM) == "jwt-client"
    assert named(data=urlencode(CC), content_type=FORM) is None
    assert named(data=urlencode(CC), content_type=FORM, HTTP_AUTHORIZATION="Basic !!!") is None
    assert named(data=json.dumps({"client_id": "x"}), content_type="application/json") is None


# --- shared by every process through Redis ----------------------------------------------------------------
@pytest.fixture
def redis_cache(settings):
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    connection.flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    yield connection
    connection.flushdb()


SUBPROCESS_CHECK = """
import django, json, sys
django.setup()
from django.test import RequestFactory
from oauth_server import rate_limits
request = RequestFactory().post("/oauth/token", data=sys.argv[1], content_type="application/x-www-form-urlencoded",
                                HTTP_AUTHORIZATION=sys.argv[2])
print(json.dumps([getattr(rate_limits.check(request, "token"), "status_code", None) for _ in range(2)]))
"""


def test_limits_count_across_processes_with_redis(server, redis_cache, settings, backup_service):
    settings.RATE_LIMITS = {**NO_LIMITS, "token": {"client": "5/d"}}
    assert [token(server, backup_service).status_code for _ in range(3)] == [200, 200, 200]

    # Another server process (as another machine would) counts two more requests of the same client.
    basic = "Basic " + base64.b64encode(f"{backup_service.client_id}:x".encode()).decode()
    env = dict(os.environ, REDIS_URL=REDIS_URL, RATE_LIMIT_TOKEN_PER_CLIENT="5/d",
               DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run([sys.executable, "-c", SUBPROCESS_CHECK, urlencode(CC), basic], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [None, None]  # the 4th and 5th: allowed

    assert_limited(token(server, backup_service), longest=86400)
    # Each counter lives no longer than its window: nothing is left behind in Redis.
    keys = redis_cache.keys("*ratelimit:token:client*")
    assert keys and all(0 < redis_cache.ttl(key) <= 86401 for key in keys)


def test_an_unreachable_cache_lets_requests_through(server, settings, backup_service):
    settings.RATE_LIMITS = {**NO_LIMITS, "token": {"client": "1/m"}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    assert [token(server, backup_service).status_code for _ in range(2)] == [200, 200]
