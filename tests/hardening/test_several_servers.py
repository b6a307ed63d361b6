"""Several servers: two gunicorn servers (separate processes on different ports, as two hosts would run)
sharing one PostgreSQL database and one Redis, behind one public issuer URL.

What one server did, the other knows at once: an authorization code, a JWT `jti` or a SAML assertion ID
used on one is refused on the other; a token revoked on one is refused on the other; rate limits count
the requests of both. Short form: a few rounds; LONG_TESTS=1: many.
"""

import time
import uuid

import pytest
import requests

from oauth_server.constants import GrantType
from samples.user_agent import Browser
from tests.hardening.conftest import scaled, skip_unless_postgresql
from tests.hardening.grants import (
    TIMEOUT,
    all_at_once,
    authorization_code,
    code_exchange,
    grant_types_supported,
    jwt_assertion,
    jwt_exchange,
    outcome,
    saml_assertion,
    saml_exchange,
)

skip_unless_postgresql()
pytestmark = pytest.mark.django_db(transaction=True)

REDIS_DB = 13  # flushed when the servers start
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
ROUNDS = scaled(2, 20)


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)


@pytest.fixture(scope="module")
def shared_redis():
    try:
        client = redis_client()
        client.ping()
    except Exception:
        pytest.skip("needs Redis on 127.0.0.1:6379 (as in production: REDIS_URL)")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture(scope="module")
def servers(start_servers, shared_redis):
    """Two servers; both answer for the same issuer (the first one's URL), as two hosts behind one name do."""
    from tests.e2e.conftest import free_port

    first_port = free_port()
    issuer = f"http://127.0.0.1:{first_port}"
    a = start_servers(workers=2, port=first_port, issuer=issuer, REDIS_URL=shared_redis)[0]
    b = start_servers(workers=2, issuer=issuer, REDIS_URL=shared_redis)[0]
    return a, b


@pytest.fixture(scope="module")
def world(hardening_template):
    return hardening_template


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_both_servers_are_ready_with_the_shared_database_and_redis(servers):
    for server in servers:
        r = requests.get(server.url + "/readyz", timeout=TIMEOUT)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert redis_client().dbsize() > 0  # the readiness probes wrote to the shared Redis


def test_an_authorization_code_used_on_one_server_is_refused_on_the_other(servers, world):
    a, b = servers
    browser = Browser()
    for i in range(ROUNDS):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        code = authorization_code(first, world.clients, world.users, browser)  # issued by one ...
        exchanged = code_exchange(second, world.clients, code)  # ... exchanged on the other
        assert exchanged.status_code == 200, exchanged.text
        replay = code_exchange(first, world.clients, code)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
        # The replay revoked what the code issued, on both servers (RFC 6749 §4.1.2).
        token = exchanged.json()["access_token"]
        for server in servers:
            r = requests.get(server.url + "/api/userinfo", headers=bearer(token), timeout=TIMEOUT)
            assert r.status_code == 401, (server.url, r.status_code)


def test_the_same_code_raced_on_both_servers_issues_one_token(servers, world):
    for _ in range(ROUNDS):
        code = authorization_code(servers[0], world.clients, world.users)
        responses = all_at_once(10, lambda i, session: code_exchange(servers[i % 2], world.clients, code, session))
        statuses, errors = outcome(responses)
        assert statuses == {200: 1, 400: 9} and set(errors) == {"invalid_grant"}, (statuses, errors)


def test_a_token_revoked_on_one_server_is_refused_on_the_other_at_once(servers, world):
    a, b = servers
    backup = world.clients["client-credentials"]
    mobile = world.clients["password"]
    for i in range(ROUNDS):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        r = requests.post(first.token, data={"grant_type": "password", "username": "alice",
                                             "password": world.users["alice"]["password"], "scope": "userinfo/readonly"},
                          auth=(mobile["client_id"], mobile["client_secret"]), timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert requests.get(second.url + "/api/userinfo", headers=bearer(token), timeout=TIMEOUT).status_code == 200
        revoked = requests.post(first.url + "/oauth/revoke", data={"token": token},
                                auth=(mobile["client_id"], mobile["client_secret"]), timeout=TIMEOUT)
        assert revoked.status_code == 200
        # No delay: the very next request to the other server must refuse it.
        assert requests.get(second.url + "/api/userinfo", headers=bearer(token), timeout=TIMEOUT).status_code == 401
        assert requests.get(second.url + "/oauth/tokeninfo", params={"access_token": token},
                            timeout=TIMEOUT).status_code == 400
        introspected = requests.post(second.url + "/oauth/introspect", data={"token": token},
                                     auth=(mobile["client_id"], mobile["client_secret"]), timeout=TIMEOUT)
        assert introspected.json() == {"active": False}
    # A machine token too (client credentials, revoked on the other server this time).
    r = requests.post(a.token, data={"grant_type": "client_credentials", "scope": "photos"},
                      auth=(backup["client_id"], backup["client_secret"]), timeout=TIMEOUT)
    token = r.json()["access_token"]
    requests.post(b.url + "/oauth/revoke", data={"token": token}, auth=(backup["client_id"], backup["client_secret"]),
                  timeout=TIMEOUT)
    assert requests.get(a.url + "/oauth/tokeninfo", params={"access_token": token}, timeout=TIMEOUT).status_code == 400


def test_a_jwt_id_used_on_one_server_is_refused_on_the_other(servers, world):
    a, b = servers
    if GrantType.JWT_BEARER not in grant_types_supported(a):
        pytest.skip("the server does not offer the JWT-bearer grant yet")
    for i in range(ROUNDS):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        assertion = jwt_assertion(first, world.clients)  # both servers share the issuer: same audience
        assert jwt_exchange(first, assertion).status_code == 200
        replay = jwt_exchange(second, assertion)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
        # The same jti in a newly signed assertion is refused too: the jti is what is single-use.
        jti = str(uuid.uuid4())
        assert jwt_exchange(first, jwt_assertion(first, world.clients, jti=jti)).status_code == 200
        again = jwt_exchange(second, jwt_assertion(second, world.clients, jti=jti))
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    assertion = jwt_assertion(a, world.clients)
    responses = all_at_once(10, lambda i, session: jwt_exchange(servers[i % 2], assertion, session))
    statuses, errors = outcome(responses)
    assert statuses == {200: 1, 400: 9} and set(errors) == {"invalid_grant"}, (statuses, errors)


def test_a_saml_assertion_used_on_one_server_is_refused_on_the_other(servers, world, _acme_signer):
    a, b = servers
    if GrantType.SAML2_BEARER not in grant_types_supported(a):
        pytest.skip("the server does not offer the SAML 2.0 bearer grant yet (metadata grant_types_supported)")
    for i in range(ROUNDS):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        assertion = saml_assertion(first, _acme_signer)
        assert saml_exchange(first, world.saml_client, assertion).status_code == 200
        replay = saml_exchange(second, world.saml_client, assertion)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
    assertion = saml_assertion(a, _acme_signer)
    responses = all_at_once(10, lambda i, session: saml_exchange(servers[i % 2], world.saml_client, assertion, session))
    statuses, errors = outcome(responses)
    assert statuses == {200: 1, 400: 9} and set(errors) == {"invalid_grant"}, (statuses, errors)


LIMIT = 6


@pytest.fixture(scope="module")
def limited_servers(start_servers, shared_redis):
    """A second pair with a tiny per-client limit on the token endpoint (per-IP limits off: one address here)."""
    limits = {"RATE_LIMIT_TOKEN_PER_CLIENT": f"{LIMIT}/h", "RATE_LIMIT_TOKEN_PER_IP": "0"}
    return start_servers(2, workers=1, REDIS_URL=shared_redis, **limits)


def test_rate_limits_count_the_requests_of_both_servers(limited_servers, world):
    backup = world.clients["client-credentials"]
    for _attempt in range(3):  # a fixed window may close during the test: then count again in the next one
        hour = int(time.time() // 3600)
        answers = []
        for i in range(2 * LIMIT):
            server = limited_servers[i % 2]
            answers.append(requests.post(server.token, data={"grant_type": "client_credentials", "scope": "photos"},
                                         auth=(backup["client_id"], backup["client_secret"]), timeout=TIMEOUT))
        if int(time.time() // 3600) == hour:
            break
        redis_client().flushdb()
    statuses = [r.status_code for r in answers]
    # Each server alone saw only LIMIT requests: refusals prove they counted together.
    assert statuses == [200] * LIMIT + [429] * LIMIT, statuses
    refused = answers[-1]
    assert refused.json()["error"] == "slow_down"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


def test_no_server_errors_were_logged(servers):
    for server in servers:
        assert "Internal Server Error" not in server.log_tail(1_000_000), server.log_tail()
