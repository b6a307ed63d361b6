"""/healthz (the process answers) and /readyz (database and, when configured, Redis answer): no details leaked."""

import time

import pytest
from django.db import OperationalError, connections
from django.test import Client

REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


def redis_available():
    try:
        import redis

        return redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


def redis_cache(url):
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                        "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}}}


@pytest.fixture
def client():
    return Client()


def assert_never_cached(response):
    assert "no-store" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


def test_healthz_says_ok_without_touching_the_database(client):
    r = client.get("/healthz")  # no django_db mark: any query would fail the test
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert_never_cached(r)


@pytest.mark.django_db
def test_readyz_is_ok_when_the_database_answers(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert_never_cached(r)


@pytest.mark.django_db
def test_readyz_is_503_without_details_when_the_database_fails(client, monkeypatch, caplog):
    def broken_cursor(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" (10.1.2.3), port 5432 failed: password authentication failed for user "oauth"')

    monkeypatch.setattr(connections["default"], "cursor", broken_cursor)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.content == b'{"status": "unavailable"}'
    assert_never_cached(r)
    assert "OperationalError" in caplog.text  # the operator learns what failed from the log, not the caller
    assert "password" not in r.content.decode()


@pytest.mark.django_db
def test_probes_answer_requests_for_any_host_and_over_plain_http(client, settings):
    """An orchestrator probes a pod by its IP over HTTP: no DisallowedHost 400, no 301 that would look healthy."""
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz"):
        r = client.get(path, HTTP_HOST="10.244.1.17:8000")
        assert r.status_code == 200, (path, r.status_code)
        assert r.json() == {"status": "ok"}
    # Everything else still follows the site's rules.
    assert client.get("/oauth/token", HTTP_HOST="10.244.1.17:8000").status_code == 400


def test_probes_answer_get_and_head_only(client):
    assert client.head("/healthz").status_code == 200
    r = client.post("/healthz")
    assert r.status_code == 405 and r["Allow"] == "GET, HEAD"


@pytest.mark.django_db
@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_readyz_checks_the_redis_cache_when_configured(client, settings):
    settings.REDIS_URL = REDIS_TEST_URL
    settings.CACHES = redis_cache(REDIS_TEST_URL)
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_quickly_when_redis_does_not_answer(client, settings, caplog):
    unreachable = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.REDIS_URL = unreachable
    settings.CACHES = redis_cache(unreachable)
    started = time.monotonic()
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable"}
    assert time.monotonic() - started < 5
    assert "cache did not answer" in caplog.text


@pytest.mark.django_db
def test_readyz_ignores_the_local_memory_cache(client, settings):
    settings.REDIS_URL = ""
    assert client.get("/readyz").status_code == 200


def test_redis_cache_gets_bounded_timeouts_from_the_settings(monkeypatch):
    """With REDIS_URL, a Redis that stops answering cannot hang a worker: connect and socket timeouts are set."""
    import importlib

    import config.settings as settings_module

    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    try:
        reloaded = importlib.reload(settings_module)
        options = reloaded.CACHES["default"]["OPTIONS"]
        assert options["socket_connect_timeout"] == 2.0 and options["socket_timeout"] == 2.0
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(settings_module)
