"""The Connected apps page: a signed-in user sees the clients they authorized and revokes their access."""

from urllib.parse import urlencode

import pytest
import requests
from oauth2_provider.models import Grant, RefreshToken

from audit.models import AuditEvent
from oauth_server.constants import GrantType as G
from oauth_server.models import Consent, consent_revoke
from samples.user_agent import Browser, callback_params, forms_in
from tests.conftest import PASSWORDS, PRINTER_CALLBACK

pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = "photos userinfo/readonly"


def authorize_url(server, client, **extra):
    return server.authorize + "?" + urlencode({"response_type": "code", "client_id": client.client_id,
                                               "redirect_uri": PRINTER_CALLBACK, "scope": SCOPE, "state": "s",
                                               **extra})


def tokens_for(server, client, username, browser=None):
    """Log `username` in (in `browser`, or a new one), approve `client`, exchange the code: the token response."""
    browser = browser or Browser()
    code = callback_params(browser.authorize(authorize_url(server, client), username, PASSWORDS[username]))["code"]
    r = requests.post(server.token, data={"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": PRINTER_CALLBACK}, auth=(client.client_id, client.secret))
    assert r.status_code == 200, r.text
    return r.json()


def userinfo(server, access_token):
    return requests.get(server.url + "/api/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def refresh(server, client, refresh_token):
    return requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                         auth=(client.client_id, client.secret))


def revoke_form_index(page, client):
    for index, form in enumerate(forms_in(page.text)):
        if form["fields"].get("client_id") == client.client_id:
            return index
    raise AssertionError(f"no revoke form for {client.client_id}")


@pytest.fixture
def gallery(make_client):
    return make_client("Gallery", grants=(G.AUTHORIZATION_CODE, G.REFRESH_TOKEN), redirect_uris=[PRINTER_CALLBACK])


def test_page_lists_each_authorized_client_with_its_scopes_and_when(server, photo_printer, gallery, alice):
    browser = Browser()
    tokens_for(server, photo_printer, "alice", browser)
    tokens_for(server, gallery, "alice", browser)
    page = browser.get(server.url + "/accounts/apps/")
    assert page.status_code == 200
    for text in ("Connected apps", "Photo Printer", "Gallery", "View your photos",
                 "See your username, name and email address", "Authorized on", "Revoke access", "alice"):
        assert text in page.text, text


def test_revoking_access_ends_the_clients_tokens_and_consent_for_this_user_only(server, photo_printer, gallery,
                                                                               alice, bob):
    browser = Browser()
    alice_printer = tokens_for(server, photo_printer, "alice", browser)
    alice_gallery = tokens_for(server, gallery, "alice", browser)
    bob_printer = tokens_for(server, photo_printer, "bob")
    assert userinfo(server, alice_printer["access_token"]).status_code == 200

    page = browser.get(server.url + "/accounts/apps/")
    done = browser.post_form(page, form_index=revoke_form_index(page, photo_printer))
    assert done.status_code == 200 and done.url.endswith("/accounts/apps/")
    assert "Photo Printer can no longer access your account" in done.text
    assert revoke_form_index(done, gallery) is not None
    with pytest.raises(AssertionError):
        revoke_form_index(done, photo_printer)

    # alice's tokens for the printer fail at once...
    r = userinfo(server, alice_printer["access_token"])
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert refresh(server, photo_printer, alice_printer["refresh_token"]).json()["error"] == "invalid_grant"
    # ...the next authorization asks for consent again...
    again = browser.get(authorize_url(server, photo_printer))
    assert again.status_code == 200 and "authorizationForm" in again.text
    # ...and nothing else changed: bob's tokens for the printer, alice's for the gallery.
    assert userinfo(server, bob_printer["access_token"]).status_code == 200
    assert refresh(server, photo_printer, bob_printer["refresh_token"]).status_code == 200
    assert userinfo(server, alice_gallery["access_token"]).status_code == 200
    assert Consent.objects.filter(user=bob, client=photo_printer.model).exists()

    events = AuditEvent.objects.filter(user=alice, client=photo_printer.model)
    assert events.filter(event="consent_revoked", scopes="photos userinfo/readonly").exists()
    assert events.filter(event="token_revoked", detail__contains="1 access token(s), 1 refresh token(s)").exists()


def test_page_requires_a_signed_in_user(server):
    r = requests.get(server.url + "/accounts/apps/", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith("/accounts/login/?next=/accounts/apps/")


def test_revoking_needs_a_post_with_the_csrf_token(server, photo_printer, alice):
    browser = Browser()
    tokens_for(server, photo_printer, "alice", browser)
    assert browser.session.get(server.url + "/accounts/apps/revoke/", allow_redirects=False).status_code == 405
    forged = browser.session.post(server.url + "/accounts/apps/revoke/", data={"client_id": photo_printer.client_id},
                                  headers={"Referer": server.url + "/accounts/apps/"}, allow_redirects=False)
    assert forged.status_code == 403
    assert Consent.objects.filter(user=alice).exists()


def test_clients_with_tokens_but_no_consent_page_are_listed_and_revocable(server, make_client, alice):
    mobile = make_client("Legacy mobile app", grants=(G.PASSWORD, G.REFRESH_TOKEN))
    token = requests.post(server.token, data={"grant_type": "password", "username": "alice",
                                              "password": PASSWORDS["alice"], "scope": "userinfo/readonly"},
                          auth=(mobile.client_id, mobile.secret)).json()
    browser = Browser()
    page = browser.get(server.url + "/accounts/login/?next=/accounts/apps/")
    page = browser.post_form(page, {"username": "alice", "password": PASSWORDS["alice"]})
    assert "Legacy mobile app" in page.text and "without a consent page" in page.text
    done = browser.post_form(page, form_index=revoke_form_index(page, mobile))
    assert "Legacy mobile app can no longer access your account" in done.text
    assert userinfo(server, token["access_token"]).status_code == 401
    assert refresh(server, mobile, token["refresh_token"]).json()["error"] == "invalid_grant"
    assert "No application can access your account" in done.text


def test_revoking_an_app_that_has_no_access_says_so(server, photo_printer, alice):
    browser = Browser()
    page = browser.get(server.url + "/accounts/login/?next=/accounts/apps/")
    page = browser.post_form(page, {"username": "alice", "password": PASSWORDS["alice"]})
    csrf = forms_in(page.text)[0]["fields"]["csrfmiddlewaretoken"]
    r = browser.session.post(server.url + "/accounts/apps/revoke/", data={
        "client_id": photo_printer.client_id, "csrfmiddlewaretoken": csrf},
        headers={"Referer": server.url + "/accounts/apps/"})
    assert r.status_code == 200 and "Photo Printer had no access to your account" in r.text
    r = browser.session.post(server.url + "/accounts/apps/revoke/", data={
        "client_id": "no-such-client", "csrfmiddlewaretoken": csrf},
        headers={"Referer": server.url + "/accounts/apps/"})
    assert r.status_code == 200 and "not connected to your account" in r.text


def test_consent_revoke_also_removes_codes_not_yet_exchanged(server, photo_printer, alice):
    browser = Browser()
    tokens_for(server, photo_printer, "alice", browser)
    pending = callback_params(browser.authorize(authorize_url(server, photo_printer), "alice", PASSWORDS["alice"]))
    assert Grant.objects.filter(user=alice).count() == 1

    revoked = consent_revoke(user=alice, client=photo_printer.model)
    assert (revoked.scopes, revoked.access_tokens, revoked.refresh_tokens, revoked.codes) == (
        ("photos", "userinfo/readonly"), 1, 1, 1)
    assert not RefreshToken.objects.filter(user=alice, revoked__isnull=True).exists()
    r = requests.post(server.token, data={"grant_type": "authorization_code", "code": pending["code"],
                                          "redirect_uri": PRINTER_CALLBACK},
                      auth=(photo_printer.client_id, photo_printer.secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert not consent_revoke(user=alice, client=photo_printer.model).anything
