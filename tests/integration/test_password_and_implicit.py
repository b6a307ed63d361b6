"""Legacy grants: resource owner password (RFC 6749 §4.3) and implicit (§4.2), for clients allowed them only."""

import pytest
import requests
from oauthlib.oauth2 import LegacyApplicationClient, MobileApplicationClient
from requests_oauthlib import OAuth2Session

from oauth_server.constants import GrantType as G
from samples.user_agent import Browser, callback_params
from tests.conftest import PASSWORDS, PRINTER_CALLBACK

pytestmark = pytest.mark.django_db(transaction=True)


def test_password_grant_with_requests_oauthlib(server, make_client, alice):
    app = make_client("Trusted app", grants=(G.PASSWORD,))
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=app.client_id))
    token = oauth.fetch_token(server.token, username="alice", password=PASSWORDS["alice"],
                              client_id=app.client_id, client_secret=app.secret, scope=["userinfo/readonly"])
    assert token["scope"] == ["userinfo/readonly"]


def test_password_grant_with_a_wrong_password_is_invalid_grant(server, make_client, alice):
    app = make_client("Trusted app", grants=(G.PASSWORD,))
    r = requests.post(server.token, data={"grant_type": "password", "username": "alice", "password": "guess"},
                      auth=(app.client_id, app.secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_password_grant_for_an_inactive_user_is_invalid_grant(server, make_client, alice):
    app = make_client("Trusted app", grants=(G.PASSWORD,))
    alice.is_active = False
    alice.save()
    r = requests.post(server.token, data={"grant_type": "password", "username": "alice", "password": PASSWORDS["alice"]},
                      auth=(app.client_id, app.secret))
    assert r.json()["error"] == "invalid_grant"


def test_implicit_grant_returns_the_token_in_the_fragment(server, make_client, alice):
    slideshow = make_client("Slideshow", grants=(G.IMPLICIT,), redirect_uris=[PRINTER_CALLBACK], public=True)
    oauth = OAuth2Session(client=MobileApplicationClient(client_id=slideshow.client_id),
                          redirect_uri=PRINTER_CALLBACK, scope=["photos"])
    url, state = oauth.authorization_url(server.authorize)
    callback = Browser().authorize(url, "alice", PASSWORDS["alice"])
    assert "#" in callback and "access_token=" in callback.split("#", 1)[1]
    token = oauth.token_from_fragment(callback)
    assert token["scope"] == ["photos"] and "refresh_token" not in token
    assert callback_params(callback)["state"] == state
    info = requests.get(server.tokeninfo, params={"access_token": token["access_token"]}).json()
    assert info["username"] == "alice"


def test_implicit_is_refused_for_a_client_not_allowed_it(server, photo_printer, alice):
    url = server.authorize + f"?response_type=token&client_id={photo_printer.client_id}&redirect_uri={PRINTER_CALLBACK}&scope=photos"
    params = callback_params(Browser().authorize(url, "alice", PASSWORDS["alice"]))
    assert params["error"] == "unauthorized_client"


def test_implicit_errors_come_back_in_the_fragment_with_the_issuer(server, make_client, alice):
    slideshow = make_client("Slideshow", grants=(G.IMPLICIT,), redirect_uris=[PRINTER_CALLBACK], public=True)
    url = (server.authorize + f"?response_type=token&client_id={slideshow.client_id}&redirect_uri={PRINTER_CALLBACK}"
           "&scope=photos&state=s1")
    callback = Browser().authorize(url, "alice", PASSWORDS["alice"], decision="deny")
    assert "?" not in callback.split("#")[0]
    params = callback_params(callback)
    assert params == {"error": "access_denied", "state": "s1", "iss": server.url} or (
        params["error"] == "access_denied" and params["iss"] == server.url and params["state"] == "s1")
