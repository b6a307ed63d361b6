"""Refresh tokens (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14)."""

import pytest
import requests
from requests_oauthlib import OAuth2Session
from oauthlib.oauth2 import LegacyApplicationClient

from oauth_server.constants import GrantType as G
from tests.conftest import PASSWORDS
from tests.integration.tokens import password_tokens

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mobile_app(make_client):
    return make_client("Mobile", grants=(G.PASSWORD, G.REFRESH_TOKEN))


def refresh(server, client, refresh_token, **extra):
    return requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
                         auth=(client.client_id, client.secret))


def active(server, client, token):
    return requests.post(server.introspect, data={"token": token}, auth=(client.client_id, client.secret)).json()["active"]


def test_refresh_with_requests_oauthlib_rotates_the_refresh_token(server, mobile_app, alice):
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=mobile_app.client_id))
    first = oauth.fetch_token(server.token, username="alice", password=PASSWORDS["alice"],
                              client_id=mobile_app.client_id, client_secret=mobile_app.secret, scope=["photos"])
    second = oauth.refresh_token(server.token, auth=(mobile_app.client_id, mobile_app.secret))
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert not active(server, mobile_app, first["access_token"])
    assert active(server, mobile_app, second["access_token"])


def test_scope_may_be_narrowed(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos photos/write")
    r = refresh(server, mobile_app, token["refresh_token"], scope="photos")
    assert r.status_code == 200 and r.json()["scope"] == "photos"


def test_scope_may_not_be_widened(server, mobile_app, alice):
    token = password_tokens(server, mobile_app, "photos")
    r = refresh(server, mobile_app, token["refresh_token"], scope="photos userinfo/readonly")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(server, mobile_app, alice):
    first = password_tokens(server, mobile_app, "photos photos/write")
    second = refresh(server, mobile_app, first["refresh_token"]).json()

    replay = refresh(server, mobile_app, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

    assert not active(server, mobile_app, second["access_token"])
    assert refresh(server, mobile_app, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_of_another_client_is_refused(server, mobile_app, make_client, alice):
    other = make_client("Other mobile", grants=(G.PASSWORD, G.REFRESH_TOKEN))
    token = password_tokens(server, mobile_app, "photos photos/write")
    assert refresh(server, other, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_no_refresh_token_for_a_client_not_allowed_to_refresh(server, make_client, alice):
    no_refresh = make_client("Kiosk", grants=(G.PASSWORD,))
    assert "refresh_token" not in password_tokens(server, no_refresh, "photos photos/write")


def test_refresh_token_past_the_clients_lifetime_is_refused(server, make_client, alice):
    short = make_client("Short-lived", grants=(G.PASSWORD, G.REFRESH_TOKEN), refresh_token_lifetime=1)
    token = password_tokens(server, short, "photos photos/write")
    from oauth2_provider.models import RefreshToken
    from django.utils import timezone
    from datetime import timedelta

    RefreshToken.objects.filter(application=short.model).update(created=timezone.now() - timedelta(seconds=5))
    assert refresh(server, short, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_access_token_lifetime_follows_the_client(server, make_client, alice):
    quick = make_client("Quick", grants=(G.PASSWORD,), access_token_lifetime=120)
    assert password_tokens(server, quick, "photos photos/write")["expires_in"] == 120


def test_refresh_with_the_same_token_twice_rotates_once_and_treats_the_second_as_reuse(server, mobile_app, alice):
    first = password_tokens(server, mobile_app, "photos photos/write")
    winner = refresh(server, mobile_app, first["refresh_token"])
    loser = refresh(server, mobile_app, first["refresh_token"])
    assert winner.status_code == 200 and loser.json()["error"] == "invalid_grant"
    assert not active(server, mobile_app, winner.json()["access_token"])


def test_rotation_revokes_the_old_access_token_and_the_new_pair_works(server, mobile_app, alice):
    first = password_tokens(server, mobile_app, "photos photos/write")
    second = refresh(server, mobile_app, first["refresh_token"]).json()
    assert not active(server, mobile_app, first["access_token"])
    assert not active(server, mobile_app, first["refresh_token"])
    assert active(server, mobile_app, second["access_token"]) and active(server, mobile_app, second["refresh_token"])
    third = refresh(server, mobile_app, second["refresh_token"])
    assert third.status_code == 200 and third.json()["refresh_token"] not in (first["refresh_token"],
                                                                             second["refresh_token"])


def test_a_refresh_token_idle_past_its_lifetime_is_refused(server, mobile_app, alice, settings):
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    first = password_tokens(server, mobile_app, "photos photos/write")
    idle = timedelta(seconds=settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"])
    # DOT's idle expiry: dead REFRESH_TOKEN_EXPIRE_SECONDS after its access token expired.
    AccessToken.objects.filter(user=alice).update(expires=timezone.now() - idle - timedelta(seconds=1))
    r = refresh(server, mobile_app, first["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_reuse_is_in_the_audit_trail(server, mobile_app, alice):
    from audit.models import AuditEvent

    first = password_tokens(server, mobile_app, "photos photos/write")
    refresh(server, mobile_app, first["refresh_token"])
    refresh(server, mobile_app, first["refresh_token"])
    reuse = AuditEvent.objects.get(event="refresh_reuse_detected")
    assert reuse.user_id == alice.pk and reuse.oauth_client_id == mobile_app.client_id
