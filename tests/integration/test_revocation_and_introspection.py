"""Revocation (RFC 7009) and introspection (RFC 7662)."""

import pytest
import requests

from oauth_server.constants import GrantType as G
from tests.integration.tokens import password_tokens

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mobile_app(make_client):
    return make_client("Mobile", grants=(G.PASSWORD, G.REFRESH_TOKEN))


def introspect(server, caller, token, **extra):
    r = requests.post(server.introspect, data={"token": token, **extra}, auth=(caller.client_id, caller.secret))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    return r.json()


def revoke(server, caller, token, **extra):
    return requests.post(server.revoke, data={"token": token, **extra}, auth=(caller.client_id, caller.secret))


def test_active_token_description(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    info = introspect(server, mobile_app, token["access_token"])
    assert info["active"] is True
    assert info["scope"] == "photos" and info["client_id"] == mobile_app.client_id
    assert info["username"] == "alice" and info["sub"] == str(alice.pk)
    assert info["token_type"] == "Bearer" and info["exp"] > info["iat"]


def test_refresh_tokens_can_be_introspected(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    info = introspect(server, mobile_app, token["refresh_token"], token_type_hint="refresh_token")
    assert info["active"] is True and info["token_type"] == "refresh_token" and info["username"] == "alice"


def test_unknown_token_is_inactive(server, mobile_app):
    assert introspect(server, mobile_app, "no-such-token") == {"active": False}


def test_other_clients_tokens_are_inactive_to_a_client_without_permission(server, mobile_app, backup_service, alice):
    token = password_tokens(server, mobile_app, "photos")
    assert introspect(server, backup_service, token["access_token"]) == {"active": False}


def test_resource_server_with_permission_may_introspect_any_token(server, mobile_app, make_client, alice):
    api = make_client("Photo API", scopes=["photos"], may_introspect_any_token=True)
    token = password_tokens(server, mobile_app, "photos")
    assert introspect(server, api, token["access_token"])["username"] == "alice"


def test_introspection_requires_client_authentication(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    r = requests.post(server.introspect, data={"token": token["access_token"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(server.introspect, data={"token": token["access_token"]}, auth=(mobile_app.client_id, "wrong"))
    assert r.status_code == 401


def test_introspection_is_post_only(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    r = requests.get(server.introspect, params={"token": token["access_token"]}, auth=(mobile_app.client_id, mobile_app.secret))
    assert r.status_code == 405


def test_revoking_an_access_token(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    assert revoke(server, mobile_app, token["access_token"]).status_code == 200
    assert introspect(server, mobile_app, token["access_token"]) == {"active": False}


def test_revoking_a_refresh_token_revokes_its_access_token(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    assert revoke(server, mobile_app, token["refresh_token"], token_type_hint="refresh_token").status_code == 200
    assert introspect(server, mobile_app, token["access_token"]) == {"active": False}
    r = requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                      auth=(mobile_app.client_id, mobile_app.secret))
    assert r.json()["error"] == "invalid_grant"


def test_unknown_token_revocation_answers_200(server, mobile_app):
    assert revoke(server, mobile_app, "never-issued").status_code == 200


def test_a_client_cannot_revoke_another_clients_token(server, mobile_app, backup_service, alice):
    token = password_tokens(server, mobile_app, "photos")
    assert revoke(server, backup_service, token["access_token"]).status_code == 200
    assert introspect(server, mobile_app, token["access_token"])["active"] is True


def test_revocation_requires_client_authentication(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    r = requests.post(server.revoke, data={"token": token["access_token"]}, auth=(mobile_app.client_id, "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert introspect(server, mobile_app, token["access_token"])["active"] is True
