"""Authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636, RFC 9700), through a live server.

A real client library (requests-oauthlib) builds the requests; a browser stand-in logs alice in and
answers the consent page by posting its real forms.
"""

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import Grant
from requests_oauthlib import OAuth2Session

from oauth_server.constants import GrantType as G
from samples.user_agent import Browser, callback_params
from tests.conftest import PASSWORDS, PRINTER_CALLBACK

pytestmark = pytest.mark.django_db(transaction=True)


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_url(server, client_id, **params):
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": PRINTER_CALLBACK, "scope": "photos",
             "state": "xyz-state", **params}
    return server.authorize + "?" + urlencode({k: v for k, v in query.items() if v is not None})


def get_code(server, client, user="alice", **params):
    callback = Browser().authorize(authorize_url(server, client.client_id, **params), user, PASSWORDS[user])
    return callback_params(callback)


def exchange(server, client, code, **data):
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": PRINTER_CALLBACK, **data}
    return requests.post(server.token, data={k: v for k, v in body.items() if v is not None},
                         auth=(client.client_id, client.secret) if client.secret else None)


def is_active(server, client, token):
    return requests.post(server.introspect, data={"token": token}, auth=(client.client_id, client.secret)).json()["active"]


def test_full_flow_with_requests_oauthlib_and_pkce(server, photo_printer, alice):
    oauth = OAuth2Session(photo_printer.client_id, redirect_uri=PRINTER_CALLBACK, scope=["photos"], pkce="S256")
    url, state = oauth.authorization_url(server.authorize)
    callback = Browser().authorize(url, "alice", PASSWORDS["alice"])

    params = callback_params(callback)
    assert params["state"] == state  # returned unchanged
    assert params["iss"] == server.url  # RFC 9207
    token = oauth.fetch_token(server.token, authorization_response=callback, client_secret=photo_printer.secret)

    assert token["scope"] == ["photos"] and token["refresh_token"]
    info = requests.post(server.introspect, data={"token": token["access_token"]},
                         auth=(photo_printer.client_id, photo_printer.secret)).json()
    assert info["active"] and info["username"] == "alice" and info["client_id"] == photo_printer.client_id


def test_consent_page_names_the_client_and_the_scopes(server, photo_printer, alice):
    browser = Browser()
    login = browser.get(authorize_url(server, photo_printer.client_id, scope="photos userinfo/readonly"))
    consent = browser.post_form(login, {"username": "alice", "password": PASSWORDS["alice"]})
    assert consent.status_code == 200
    assert "Photo Printer" in consent.text
    assert "View your photos" in consent.text and "See your username, name and email address" in consent.text
    assert consent.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in consent.headers["Content-Security-Policy"]
    assert 'name="csrfmiddlewaretoken"' in consent.text


def test_consent_post_without_csrf_token_is_refused(server, photo_printer, alice):
    browser = Browser()
    login = browser.get(authorize_url(server, photo_printer.client_id))
    consent = browser.post_form(login, {"username": "alice", "password": PASSWORDS["alice"]})
    forged = browser.post_form(consent, {"allow": "Authorize", "csrfmiddlewaretoken": "forged"})
    assert forged.status_code == 403


def test_deny_redirects_with_access_denied(server, photo_printer, alice):
    callback = Browser().authorize(authorize_url(server, photo_printer.client_id), "alice", PASSWORDS["alice"],
                                   decision="deny")
    params = callback_params(callback)
    assert callback.startswith(PRINTER_CALLBACK)
    assert params["error"] == "access_denied" and params["state"] == "xyz-state"


def test_granted_consent_is_remembered_unless_prompt_consent(server, photo_printer, alice):
    browser = Browser()
    browser.authorize(authorize_url(server, photo_printer.client_id), "alice", PASSWORDS["alice"])

    again = browser.get(authorize_url(server, photo_printer.client_id))
    assert again.status_code == 302 and "code=" in again.headers["Location"]

    asked = browser.get(authorize_url(server, photo_printer.client_id, prompt="consent"))
    assert asked.status_code == 200 and "authorizationForm" in asked.text

    wider = browser.get(authorize_url(server, photo_printer.client_id, scope="photos photos/write"))
    assert wider.status_code == 200 and "authorizationForm" in wider.text


def test_code_exchanged_twice_fails_and_revokes_the_tokens_it_issued(server, photo_printer, alice):
    code = get_code(server, photo_printer)["code"]
    first = exchange(server, photo_printer, code)
    assert first.status_code == 200
    second = exchange(server, photo_printer, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"

    assert not is_active(server, photo_printer, first.json()["access_token"])
    refreshed = requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
                              auth=(photo_printer.client_id, photo_printer.secret))
    assert refreshed.json()["error"] == "invalid_grant"


def test_expired_code_is_refused(server, photo_printer, alice):
    code = get_code(server, photo_printer)["code"]
    Grant.objects.filter(code=code).update(expires=timezone.now() - timedelta(seconds=1))
    assert exchange(server, photo_printer, code).json()["error"] == "invalid_grant"


def test_code_lives_at_most_sixty_seconds(server, photo_printer, alice):
    code = get_code(server, photo_printer)["code"]
    grant = Grant.objects.get(code=code)
    assert grant.expires - grant.created <= timedelta(seconds=60)


def test_code_is_bound_to_the_client(server, photo_printer, make_client, alice):
    other = make_client("Other printer", grants=(G.AUTHORIZATION_CODE,), redirect_uris=[PRINTER_CALLBACK])
    code = get_code(server, photo_printer)["code"]
    assert exchange(server, other, code).json()["error"] == "invalid_grant"


def test_code_is_bound_to_the_redirect_uri(server, make_client, alice):
    two_uris = make_client("Two callbacks", grants=(G.AUTHORIZATION_CODE,),
                           redirect_uris=[PRINTER_CALLBACK, "http://127.0.0.1:8765/other"])
    code = get_code(server, two_uris)["code"]
    r = exchange(server, two_uris, code, redirect_uri="http://127.0.0.1:8765/other")
    assert r.status_code == 400 and r.json()["error"] in ("invalid_grant", "invalid_request")


def test_unregistered_redirect_uri_is_refused_without_redirecting(server, photo_printer, alice):
    for evil in ("http://127.0.0.1:8765/callback/../evil", "http://127.0.0.1:8765/callback?x=1",
                 "http://evil.example/callback", "http://127.0.0.1:8765/Callback"):
        page = login_and_open(server, authorize_url(server, photo_printer.client_id, redirect_uri=evil))
        assert page.status_code == 400 and "Location" not in page.headers, evil
        assert "invalid_request" in page.text or "Mismatching redirect URI" in page.text


def test_pkce_verifier_mismatch_is_refused(server, photo_printer, alice):
    verifier = secrets.token_urlsafe(48)
    code = get_code(server, photo_printer, code_challenge=s256(verifier), code_challenge_method="S256")["code"]
    r = exchange(server, photo_printer, code, code_verifier=secrets.token_urlsafe(48))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_pkce_verifier_missing_is_refused(server, photo_printer, alice):
    code = get_code(server, photo_printer, code_challenge=s256("v" * 50), code_challenge_method="S256")["code"]
    assert exchange(server, photo_printer, code).json()["error"] == "invalid_request"


def test_pkce_plain_and_missing_method_are_refused(server, photo_printer, alice):
    for method in ("plain", None):
        params = get_code(server, photo_printer, code_challenge="a" * 50, code_challenge_method=method)
        assert params["error"] == "invalid_request", method


def test_code_verifier_for_a_code_issued_without_challenge_is_a_downgrade(server, photo_printer, alice):
    code = get_code(server, photo_printer)["code"]
    r = exchange(server, photo_printer, code, code_verifier=secrets.token_urlsafe(48))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_public_client_must_use_pkce(server, make_client, alice):
    spa = make_client("Gallery SPA", grants=(G.AUTHORIZATION_CODE,), redirect_uris=[PRINTER_CALLBACK], public=True)
    assert get_code(server, spa)["error"] == "invalid_request"

    verifier = secrets.token_urlsafe(48)
    code = get_code(server, spa, code_challenge=s256(verifier), code_challenge_method="S256")["code"]
    r = exchange(server, spa, code, client_id=spa.client_id, code_verifier=verifier)
    assert r.status_code == 200 and r.json()["access_token"]


def test_client_not_allowed_the_grant_gets_unauthorized_client(server, make_client, alice):
    password_only = make_client("Password only", grants=(G.PASSWORD,), redirect_uris=[PRINTER_CALLBACK])
    assert get_code(server, password_only)["error"] == "unauthorized_client"


def test_unknown_scope_is_refused(server, photo_printer, alice):
    assert get_code(server, photo_printer, scope="photos admin")["error"] == "invalid_scope"


def test_scope_outside_the_clients_allowed_scopes_is_refused(server, make_client, alice):
    narrow = make_client("Narrow", grants=(G.AUTHORIZATION_CODE,), redirect_uris=[PRINTER_CALLBACK], scopes=["photos"])
    assert get_code(server, narrow, scope="photos/write")["error"] == "invalid_scope"


def login_and_open(server, url):
    browser = Browser()
    page = browser.get(url)
    return browser.post_form(page, {"username": "alice", "password": PASSWORDS["alice"]})


def test_disabled_client_cannot_start_a_flow(server, photo_printer, alice):
    photo_printer.model.enabled = False
    photo_printer.model.save()
    page = login_and_open(server, authorize_url(server, photo_printer.client_id))
    assert page.status_code == 400 and "Location" not in page.headers
    assert "invalid_client_id" in page.text or "invalid_request" in page.text


def test_every_answer_names_the_issuer_errors_included(server, photo_printer, alice):
    # RFC 9207 §2: iss in error responses too, so a client can detect mix-up attacks.
    denied = Browser().authorize(authorize_url(server, photo_printer.client_id), "alice", PASSWORDS["alice"],
                                 decision="deny")
    assert callback_params(denied)["iss"] == server.url
    assert get_code(server, photo_printer, scope="nuclear-codes")["iss"] == server.url


def test_token_request_must_repeat_the_redirect_uri(server, photo_printer, alice):
    # RFC 6749 §4.1.3: required when the authorization request had one (and we require it there).
    code = get_code(server, photo_printer)["code"]
    r = exchange(server, photo_printer, code, redirect_uri=None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_authorization_request_without_redirect_uri_is_refused(server, photo_printer, alice):
    page = login_and_open(server, authorize_url(server, photo_printer.client_id, redirect_uri=None))
    assert page.status_code == 400 and "Location" not in page.headers


def test_loopback_redirect_uri_must_match_to_the_port(server, photo_printer, alice):
    for other in ("http://127.0.0.1:9999/callback", "http://127.0.0.1/callback"):
        page = login_and_open(server, authorize_url(server, photo_printer.client_id, redirect_uri=other))
        assert page.status_code == 400 and "Location" not in page.headers, other


def test_deactivated_users_tokens_stop_working(server, photo_printer, alice):
    token = exchange(server, photo_printer, get_code(server, photo_printer)["code"]).json()
    alice.is_active = False
    alice.save()
    assert requests.post(server.tokeninfo, data={"access_token": token["access_token"]}).status_code == 400
    refreshed = requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                              auth=(photo_printer.client_id, photo_printer.secret))
    assert refreshed.json()["error"] == "invalid_grant"
