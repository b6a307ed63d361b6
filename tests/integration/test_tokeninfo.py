"""GET or POST /oauth/tokeninfo: what a client may learn about a token it holds, without client credentials."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from oauth_server.constants import GrantType as G
from tests.integration.tokens import revoke, service_token, user_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mobile_app(make_client):
    return make_client("Trusted Mobile App", grants=(G.PASSWORD, G.REFRESH_TOKEN))


def test_valid_user_token_is_described(server, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "photos userinfo/readonly")
    r = requests.get(server.tokeninfo, params={"access_token": token})
    assert r.status_code == 200
    info = r.json()
    assert info["scope"] == "photos userinfo/readonly"
    assert info["client_id"] == info["audience"] == mobile_app.client_id
    assert info["user_id"] == str(alice.pk) and info["username"] == "alice"
    assert info["token_type"] == "Bearer"
    assert 3590 <= info["expires_in"] <= 3600
    assert r.headers["Cache-Control"] == "no-store"


def test_token_may_be_posted_as_a_form(server, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "photos")
    r = requests.post(server.tokeninfo, data={"access_token": token})
    assert r.status_code == 200 and r.json()["username"] == "alice"


def test_client_credentials_token_has_no_user(server, backup_service):
    token = service_token(server, backup_service, "photos")
    info = requests.get(server.tokeninfo, params={"access_token": token}).json()
    assert info["client_id"] == backup_service.client_id and info["scope"] == "photos"
    assert "user_id" not in info and "username" not in info


@pytest.mark.parametrize("params", [{"access_token": "never-issued"}, {"access_token": ""}, {}])
def test_unknown_or_missing_token_is_invalid(server, db, params):
    for r in (requests.get(server.tokeninfo, params=params), requests.post(server.tokeninfo, data=params)):
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_token"


def test_revoked_token_is_invalid_at_once(server, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "photos")
    revoke(server, mobile_app, token)
    r = requests.get(server.tokeninfo, params={"access_token": token})
    assert r.status_code == 400 and r.json()["error"] == "invalid_token"


def test_expired_token_is_invalid(server, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "photos")
    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    r = requests.post(server.tokeninfo, data={"access_token": token})
    assert r.status_code == 400 and r.json()["error"] == "invalid_token"


def test_token_of_a_disabled_client_is_invalid(server, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "photos")
    mobile_app.model.enabled = False
    mobile_app.model.save(update_fields=["enabled"])
    r = requests.get(server.tokeninfo, params={"access_token": token})
    assert r.status_code == 400 and r.json()["error"] == "invalid_token"


def test_metadata_lists_the_tokeninfo_endpoint(server, db):
    metadata = requests.get(server.url + "/.well-known/oauth-authorization-server").json()
    assert metadata["tokeninfo_endpoint"] == server.tokeninfo
