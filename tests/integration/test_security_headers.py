"""Every HTML page: no framing, a CSP, a referrer policy. Redirects carrying codes or tokens: no referrer."""

from urllib.parse import urlencode

import pytest
import requests

from oauth_server.constants import GrantType as G
from samples.user_agent import Browser, csrf_token
from tests.conftest import PASSWORDS, PRINTER_CALLBACK

pytestmark = pytest.mark.django_db(transaction=True)


def assert_protected_html(response, referrer_policy="same-origin"):
    assert response.headers["Content-Type"].startswith("text/html"), response.headers["Content-Type"]
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == referrer_policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def authorize_url(server, client_id, response_type="code", **extra):
    return server.authorize + "?" + urlencode({"response_type": response_type, "client_id": client_id,
                                               "redirect_uri": PRINTER_CALLBACK, "scope": "photos", "state": "s1",
                                               **extra})


def signed_in_browser(server, username="alice"):
    browser = Browser()
    page = browser.get(server.url + "/accounts/login/")
    assert_protected_html(page)
    page = browser.post_form(page, {"username": username, "password": PASSWORDS[username]})
    assert page.status_code == 200 and "Connected apps" in page.text  # LOGIN_REDIRECT_URL
    assert_protected_html(page)
    return browser


def test_every_html_page_has_the_headers(server, photo_printer, alice, django_user_model):
    browser = signed_in_browser(server)
    # The consent page, the connected apps page, and the authorization endpoint's error page.
    consent = browser.get(authorize_url(server, photo_printer.client_id))
    assert consent.status_code == 200 and "authorizationForm" in consent.text
    assert_protected_html(consent)
    assert_protected_html(browser.get(server.url + "/accounts/apps/"))
    error = browser.get(authorize_url(server, "no-such-client"))
    assert error.status_code == 400 and "cannot be completed" in error.text
    assert_protected_html(error)
    # Signing out (LOGOUT_REDIRECT_URL: back to the sign-in page).
    logout = browser.session.post(server.url + "/accounts/logout/", data={
        "csrfmiddlewaretoken": csrf_token(browser.get(server.url + "/accounts/apps/").text)},
        headers={"Referer": server.url + "/accounts/apps/"})
    assert logout.status_code == 200 and 'name="password"' in logout.text
    assert_protected_html(logout)
    assert browser.session.get(server.url + "/accounts/apps/", allow_redirects=False).status_code == 302
    # Admin's login page, a 404, and the lockout page.
    assert_protected_html(requests.get(server.url + "/admin/login/"))
    missing = requests.get(server.url + "/no-such-page/")
    assert missing.status_code == 404
    assert_protected_html(missing)
    for _ in range(5):
        locked = requests.post(server.url + "/admin/login/", data={"username": "nobody", "password": "x"},
                               cookies={"csrftoken": "x" * 32}, headers={"X-CSRFToken": "x" * 32})
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    assert_protected_html(locked)


def test_login_page_redirect_for_the_authorization_endpoint_carries_no_code(server, photo_printer):
    r = requests.get(authorize_url(server, photo_printer.client_id), allow_redirects=False)
    assert r.status_code == 302 and "/accounts/login/" in r.headers["Location"]
    assert "code=" not in r.headers["Location"].replace("code_challenge", "")


def test_redirect_with_a_code_sends_no_referrer(server, photo_printer, alice):
    browser = signed_in_browser(server)
    location = browser.authorize(authorize_url(server, photo_printer.client_id), "alice", PASSWORDS["alice"])
    assert "code=" in location
    assert browser.pages[-1].headers["Referrer-Policy"] == "no-referrer"
    # The next time consent is remembered: that redirect, made by the GET, sends no referrer either.
    again = browser.get(authorize_url(server, photo_printer.client_id))
    assert again.status_code == 302 and "code=" in again.headers["Location"]
    assert again.headers["Referrer-Policy"] == "no-referrer"


def test_redirect_with_a_token_or_an_error_sends_no_referrer(server, make_client, photo_printer, alice):
    slideshow = make_client("Slideshow", grants=(G.IMPLICIT,), redirect_uris=[PRINTER_CALLBACK], public=True)
    browser = signed_in_browser(server)
    location = browser.authorize(authorize_url(server, slideshow.client_id, response_type="token"), "alice",
                                 PASSWORDS["alice"])
    assert "access_token=" in location
    assert browser.pages[-1].headers["Referrer-Policy"] == "no-referrer"
    denied = browser.authorize(authorize_url(server, photo_printer.client_id), "alice", PASSWORDS["alice"],
                               decision="deny")
    assert "error=access_denied" in denied
    assert browser.pages[-1].headers["Referrer-Policy"] == "no-referrer"
