"""A real browser (Playwright driving Debian's Chromium) logs in and answers the consent page."""

import json
import os
import shutil
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if not CHROMIUM:
    if os.environ.get("CI"):
        pytest.fail("Chromium is required in CI for the browser test (make setup installs it)", pytrace=False)
    pytest.skip("Chromium is not installed (make setup installs it with apt-get when run as root)",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield browser
        browser.close()


def authorization_url(live_app):
    client = json.loads(live_app.credentials.read_text())["clients"]["authorization-code"]
    query = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": client["redirect_uris"][0],
             "scope": "photos userinfo/readonly", "state": "browser-state",
             "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}
    return live_app.url + "/oauth/authorize?" + urlencode(query), client["redirect_uris"][0]


def sign_in_and_answer(chromium, live_app, username, password, button, shots):
    url, callback = authorization_url(live_app)
    context = chromium.new_context()
    page = context.new_page()
    landed = []
    # Nothing serves the client's callback: answer it here and remember where the browser landed.
    page.route(callback + "*", lambda route: (landed.append(route.request.url), route.fulfill(body="callback")))
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.screenshot(path=str(shots / f"login-{username}.png"))
    page.click("button[type=submit]")
    page.wait_for_selector("#authorizationForm")
    text = page.inner_text("main")
    page.screenshot(path=str(shots / f"consent-{username}.png"))
    page.click(f"button[name={button}]")
    page.wait_for_url(callback + "*")
    context.close()
    return text, {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}


def test_login_consent_and_allow_land_on_the_callback_with_a_code(chromium, live_app, tmp_path):
    text, params = sign_in_and_answer(chromium, live_app, "alice", "wonderland-2026", "allow", tmp_path)
    assert "Photo Printer" in text
    assert "View your photos" in text and "See your username, name and email address" in text
    assert params["code"] and params["state"] == "browser-state"
    assert (tmp_path / "login-alice.png").stat().st_size > 0 and (tmp_path / "consent-alice.png").stat().st_size > 0


def test_deny_lands_on_the_callback_with_access_denied(chromium, live_app, tmp_path):
    _text, params = sign_in_and_answer(chromium, live_app, "bob", "builder-2026", "deny", tmp_path)
    assert params["error"] == "access_denied" and "code" not in params
