"""Concurrency on PostgreSQL against a real multi-worker gunicorn server: one grant, many racing requests.

- the same authorization code exchanged by 10 parallel requests -> exactly one token;
- the same refresh token by 10 -> exactly one new pair, the others invalid_grant, the family treated as reuse;
- the same JWT-bearer assertion (one jti) by 10 -> exactly one token;
- the same SAML assertion (one ID) by 10 -> exactly one token (when the server offers the SAML grant).
Each race is also checked in the database: rows issued are counted, not just responses.
Short form: 2 rounds of each race; LONG_TESTS=1: 15 rounds.
"""

import hashlib
import time

import pytest
import requests

from oauth_server.constants import GrantType
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

RACERS = 10
ROUNDS = scaled(2, 15)


def checksum(token):
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture(scope="module")
def server(start_servers):
    (server,) = start_servers(workers=5)
    return server


@pytest.fixture(scope="module")
def world(hardening_template, server_database, server):
    ids = dict(server_database.query("SELECT client_id, id FROM oauth_server_client"))
    return type("World", (), {"clients": hardening_template.clients, "users": hardening_template.users,
                              "saml_client": hardening_template.saml_client, "db": server_database,
                              "client_pk": ids})


def rows(world, table, client_key, where="", params=()):
    pk = world.client_pk[client_key]
    return world.db.query(f"SELECT COUNT(*) FROM {table} WHERE application_id = %s {where}", (pk, *params))[0][0]


def introspect(server, world, token, hint=None):
    resource_server = world.clients["resource-server"]
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    r = requests.post(server.url + "/oauth/introspect", data=data,
                      auth=(resource_server["client_id"], resource_server["client_secret"]), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def assert_one_winner(responses, server):
    statuses, errors = outcome(responses)
    assert statuses.get(200) == 1, (statuses, errors, server.log_tail())
    assert statuses.get(400) == RACERS - 1, (statuses, errors, server.log_tail())
    assert set(errors) == {"invalid_grant"}, errors
    return next(r.json() for r in responses if r.status_code == 200)


def test_one_authorization_code_raced_by_10_requests_issues_one_token(server, world):
    printer = world.clients["authorization-code"]["client_id"]
    for _ in range(ROUNDS):
        code = authorization_code(server, world.clients, world.users)
        refresh_before = rows(world, "oauth2_provider_refreshtoken", printer)
        responses = all_at_once(RACERS, lambda i, session: code_exchange(server, world.clients, code, session))
        winner = assert_one_winner(responses, server)
        # Exactly one token pair was stored for the code, whatever happened to it afterwards.
        assert rows(world, "oauth2_provider_refreshtoken", printer) == refresh_before + 1
        assert world.db.query("SELECT COUNT(*) FROM oauth2_provider_grant WHERE application_id = %s",
                              (world.client_pk[printer],))[0][0] == 0
        # A loser that arrived after the winner's token was stored replayed the code: RFC 6749 §4.1.2 revokes
        # what the code issued; one that raced ahead of the winner's commit could not. Both are correct.
        if not introspect(server, world, winner["access_token"])["active"]:
            assert not introspect(server, world, winner["refresh_token"], "refresh_token")["active"]


def password_pair(server, world):
    mobile = world.clients["password"]
    r = requests.post(server.token, data={"grant_type": "password", "username": "alice",
                                          "password": world.users["alice"]["password"], "scope": "photos"},
                      auth=(mobile["client_id"], mobile["client_secret"]), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def race_refresh(server, world, refresh_token):
    mobile = world.clients["password"]
    return all_at_once(RACERS, lambda i, session: session.post(
        server.token, data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(mobile["client_id"], mobile["client_secret"]), timeout=TIMEOUT))


def family_rows(world, refresh_token):
    family = world.db.query("SELECT token_family FROM oauth2_provider_refreshtoken WHERE token_checksum = %s",
                            (checksum(refresh_token),))[0][0]
    return world.db.query("SELECT token_checksum, revoked IS NULL, access_token_id IS NOT NULL "
                          "FROM oauth2_provider_refreshtoken WHERE token_family = %s ORDER BY id", (family,))


def test_a_refresh_token_raced_by_10_requests_fails_nothing_and_ends_up_dead(server, world):
    """What holds today: no 5xx, refusals are invalid_grant, the presented token is dead afterwards, and every
    pair the race minted was revoked by reuse detection (REFRESH_TOKEN_REUSE_PROTECTION) or is still usable
    through every path alike."""
    for _ in range(ROUNDS):
        first = password_pair(server, world)
        responses = race_refresh(server, world, first["refresh_token"])
        statuses, errors = outcome(responses)
        assert set(statuses) <= {200, 400} and set(errors) <= {"invalid_grant"}, (statuses, errors)
        assert not introspect(server, world, first["access_token"])["active"]
        assert not introspect(server, world, first["refresh_token"], "refresh_token")["active"]
        for r in responses:
            if r.status_code == 200 and r.json()["access_token"]:
                pair = r.json()
                assert (introspect(server, world, pair["access_token"])["active"]
                        == introspect(server, world, pair["refresh_token"], "refresh_token")["active"])


BUG_ROUNDS = 8  # the race shows in nearly every round; a few rounds make the xfail below certain


def test_one_refresh_token_raced_by_10_requests_rotates_once(server, world):
    """The issue's rule: exactly one new pair, the rest invalid_grant, the family handled as reuse."""
    for _ in range(BUG_ROUNDS):
        first = password_pair(server, world)
        responses = race_refresh(server, world, first["refresh_token"])
        winner = assert_one_winner(responses, server)
        assert winner["access_token"] and winner["refresh_token"]
        rows_now = family_rows(world, first["refresh_token"])
        assert len(rows_now) == 2, f"{len(rows_now) - 1} new refresh tokens from one"
        assert checksum(winner["refresh_token"]) == rows_now[1][0]
        assert not introspect(server, world, first["access_token"])["active"]


def test_racing_refreshes_never_get_an_empty_token(server, world):
    for _ in range(BUG_ROUNDS):
        first = password_pair(server, world)
        for r in race_refresh(server, world, first["refresh_token"]):
            if r.status_code == 200:
                assert r.json()["access_token"] and r.json()["refresh_token"], r.json()


def test_one_jwt_assertion_raced_by_10_requests_issues_one_token(server, world):
    if GrantType.JWT_BEARER not in grant_types_supported(server):
        pytest.skip("the server does not offer the JWT-bearer grant yet")
    partner = world.clients["jwt-bearer"]["client_id"]
    for _ in range(ROUNDS):
        assertion = jwt_assertion(server, world.clients)
        before = rows(world, "oauth2_provider_accesstoken", partner)
        responses = all_at_once(RACERS, lambda i, session: jwt_exchange(server, assertion, session))
        winner = assert_one_winner(responses, server)
        assert rows(world, "oauth2_provider_accesstoken", partner) == before + 1
        assert introspect(server, world, winner["access_token"])["active"]


def test_one_saml_assertion_raced_by_10_requests_issues_one_token(server, world, _acme_signer):
    if GrantType.SAML2_BEARER not in grant_types_supported(server):
        pytest.skip("the server does not offer the SAML 2.0 bearer grant yet (metadata grant_types_supported)")
    client = world.saml_client
    for _ in range(ROUNDS):
        assertion = saml_assertion(server, _acme_signer)
        before = rows(world, "oauth2_provider_accesstoken", client["client_id"])
        responses = all_at_once(RACERS, lambda i, session: saml_exchange(server, client, assertion, session))
        winner = assert_one_winner(responses, server)
        assert rows(world, "oauth2_provider_accesstoken", client["client_id"]) == before + 1
        assert introspect(server, world, winner["access_token"])["active"]


def test_no_server_errors_were_logged(server):
    time.sleep(0.2)
    assert "Internal Server Error" not in server.log_tail(200_000), server.log_tail()
