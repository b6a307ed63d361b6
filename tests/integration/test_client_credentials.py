"""Client credentials grant (RFC 6749 §4.4), through HTTP with requests-oauthlib."""

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

pytestmark = pytest.mark.django_db(transaction=True)


def test_machine_client_gets_a_token_without_a_user(server, backup_service):
    session = OAuth2Session(client=BackendApplicationClient(client_id=backup_service.client_id))
    token = session.fetch_token(server.token, client_id=backup_service.client_id,
                                client_secret=backup_service.secret, scope=["photos"])
    assert token["token_type"] == "Bearer"
    assert token["scope"] == ["photos"]
    assert "refresh_token" not in token
    info = requests.post(server.introspect, data={"token": token["access_token"]},
                         auth=(backup_service.client_id, backup_service.secret)).json()
    assert info["active"] is True and "username" not in info
    assert info["sub"] == backup_service.client_id


def test_token_response_is_not_cacheable(server, backup_service):
    r = requests.post(server.token, data={"grant_type": "client_credentials"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"


def test_request_without_scope_gets_the_default_scopes(server, backup_service):
    r = requests.post(server.token, data={"grant_type": "client_credentials"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert r.json()["scope"] == "photos"
