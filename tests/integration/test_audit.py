"""The audit trail: every security event as a row and a JSON log line, searchable in admin, and never a secret."""

import base64
import hashlib
import json
import logging
import re
import secrets
from urllib.parse import urlencode

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

import audit
from audit.models import AuditEvent
from oauth_server.constants import CLIENT_ASSERTION_TYPE_JWT_BEARER, ClientAuthMethod
from oauth_server.constants import GrantType as G
from samples.user_agent import Browser, callback_params
from tests.conftest import PASSWORDS, PRINTER_CALLBACK
from tests.integration.test_admin_clients import add_form
from tests.unit.test_jwt_support import claims, jwks, private_key, public_jwk, sign

pytestmark = pytest.mark.django_db(transaction=True)

RSA = private_key("rsa")
EC = private_key("ec")
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def audit_log():
    """The JSON lines the "audit" logger writes (it does not propagate: it has a handler of its own)."""
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Collect(level=logging.INFO)
    logger = logging.getLogger("audit")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def events(kind, **filters):
    return list(AuditEvent.objects.filter(event=kind, **filters))


def one(kind, **filters):
    found = events(kind, **filters)
    assert len(found) == 1, (kind, filters, [(e.event, e.oauth_client_id, e.username, e.detail) for e in found],
                             list(AuditEvent.objects.values_list("event", "detail")))
    return found[0]


@pytest.fixture
def mobile_app(make_client):
    return make_client("Mobile", grants=(G.PASSWORD, G.REFRESH_TOKEN))


def password_token(server, client, username="alice", password=None, scope="photos"):
    return requests.post(server.token, data={"grant_type": "password", "username": username, "scope": scope,
                                             "password": password or PASSWORDS[username]},
                         auth=(client.client_id, client.secret))


# --- the function ---------------------------------------------------------------------------------------
def test_record_writes_a_row_and_the_same_fields_as_one_json_log_line(audit_log, backup_service, alice):
    request = RequestFactory().post("/oauth/token", REMOTE_ADDR="203.0.113.7")
    row = audit.record(audit.Event.TOKEN_ISSUED, request=request, client=backup_service.model, user=alice,
                       grant_type="password", scopes=["photos", "userinfo/readonly"])
    row = AuditEvent.objects.get(pk=row.pk)
    assert (row.event, row.client, row.oauth_client_id, row.user, row.username, row.ip, row.grant_type, row.scopes) == (
        "token_issued", backup_service.model, backup_service.client_id, alice, "alice", "203.0.113.7", "password",
        "photos userinfo/readonly")
    assert len(audit_log) == 1 and "\n" not in audit_log[0]
    assert json.loads(audit_log[0]) == row.as_log() | {"time": json.loads(audit_log[0])["time"]}
    assert json.loads(audit_log[0])["client_id"] == backup_service.client_id


def test_an_unknown_client_or_user_is_kept_as_text_and_long_values_are_cut(audit_log):
    row = audit.record(audit.Event.CLIENT_AUTH_FAILED, client="x" * 500, username="\x00mallory", ip="not-an-ip",
                       detail="d" * 2000)
    row.refresh_from_db()
    assert row.client is None and row.oauth_client_id == "x" * 100 and row.username == "mallory"
    assert row.ip is None and len(row.detail) == 500


def test_rows_and_log_lines_of_a_rolled_back_transaction_vanish(audit_log, backup_service):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(audit.Event.TOKEN_ISSUED, client=backup_service.model)
        raise RuntimeError("the token was not saved after all")
    assert not AuditEvent.objects.exists() and audit_log == []


def test_only_the_known_fields_exist():
    with pytest.raises(TypeError):
        audit.record(audit.Event.TOKEN_ISSUED, token="an access token")  # nowhere to put it, on purpose
    with pytest.raises(ValueError):
        audit.record("something_else")


# --- events at the token endpoint -------------------------------------------------------------------------
def test_token_issued_and_refreshed_name_grant_client_user_and_scopes(server, mobile_app, backup_service, alice):
    token = password_token(server, mobile_app).json()
    issued = one("token_issued", grant_type="password")
    assert (issued.client, issued.user, issued.scopes, issued.ip) == (mobile_app.model, alice, "photos", "127.0.0.1")

    requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                  auth=(mobile_app.client_id, mobile_app.secret)).raise_for_status()
    refreshed = one("token_refreshed")
    assert (refreshed.client, refreshed.user, refreshed.grant_type, refreshed.scopes) == (
        mobile_app.model, alice, "refresh_token", "photos")

    requests.post(server.token, data={"grant_type": "client_credentials", "scope": "photos"},
                  auth=(backup_service.client_id, backup_service.secret)).raise_for_status()
    machine = one("token_issued", grant_type="client_credentials")
    assert machine.user is None and machine.username == "" and machine.client == backup_service.model


def _token_request_queries(backup_service):
    basic = base64.b64encode(f"{backup_service.client_id}:{backup_service.secret}".encode()).decode()
    with CaptureQueriesContext(connection) as queries:
        r = Client().post("/oauth/token", urlencode({"grant_type": "client_credentials", "scope": "photos"}),
                          content_type=FORM, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert r.status_code == 200, r.content
    return [q["sql"] for q in queries.captured_queries]


def test_issuing_a_token_writes_its_audit_row_without_reading_or_an_extra_round_trip(backup_service):
    queries = _token_request_queries(backup_service)
    touching_audit = [sql for sql in queries if "audit_auditevent" in sql]
    assert len(touching_audit) == 1 and 'INSERT INTO "audit_auditevent"' in touching_audit[0], queries
    if connection.vendor == "postgresql":
        # The client lookup, then one statement for the token and its audit row: no BEGIN, no COMMIT.
        assert len(queries) == 2 and 'INSERT INTO "oauth2_provider_accesstoken"' in touching_audit[0], queries


def test_revocation_by_the_client_is_recorded_with_the_tokens_owner(server, mobile_app, alice):
    token = password_token(server, mobile_app).json()
    auth = (mobile_app.client_id, mobile_app.secret)
    requests.post(server.revoke, data={"token": "not-a-token"}, auth=auth).raise_for_status()
    assert not events("token_revoked")  # nothing was revoked: nothing to record
    requests.post(server.revoke, data={"token": token["access_token"]}, auth=auth).raise_for_status()
    revoked = one("token_revoked")
    assert (revoked.client, revoked.user, revoked.scopes) == (mobile_app.model, alice, "photos")
    assert revoked.detail == "access token revoked by its client (RFC 7009)"


def test_refresh_token_reuse_is_recorded(server, mobile_app, alice):
    first = password_token(server, mobile_app).json()
    auth = (mobile_app.client_id, mobile_app.secret)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert requests.post(server.token, data=refresh, auth=auth).status_code == 200
    assert requests.post(server.token, data=refresh, auth=auth).json()["error"] == "invalid_grant"
    reuse = one("refresh_reuse_detected")
    assert (reuse.client, reuse.user, reuse.grant_type) == (mobile_app.model, alice, "refresh_token")
    assert "token family was revoked" in reuse.detail
    # An unknown refresh token is just refused, not "reuse".
    requests.post(server.token, data={**refresh, "refresh_token": "unknown"}, auth=auth)
    assert len(events("refresh_reuse_detected")) == 1


def authorization_code(server, client, username="alice"):
    url = server.authorize + "?" + urlencode({"response_type": "code", "client_id": client.client_id,
                                              "redirect_uri": PRINTER_CALLBACK, "scope": "photos", "state": "s"})
    return callback_params(Browser().authorize(url, username, PASSWORDS[username]))["code"]


def test_consent_and_code_reuse_are_recorded(server, photo_printer, alice):
    code = authorization_code(server, photo_printer)
    granted = one("consent_granted")
    assert (granted.client, granted.user, granted.scopes, granted.ip) == (
        photo_printer.model, alice, "photos", "127.0.0.1")
    assert one("login_succeeded").user == alice

    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": PRINTER_CALLBACK}
    auth = (photo_printer.client_id, photo_printer.secret)
    assert requests.post(server.token, data=exchange, auth=auth).status_code == 200
    assert one("token_issued").grant_type == "authorization_code"
    assert requests.post(server.token, data=exchange, auth=auth).json()["error"] == "invalid_grant"
    reuse = one("code_reuse_detected")
    assert (reuse.client, reuse.user, reuse.grant_type) == (photo_printer.model, alice, "authorization_code")


def test_implicit_tokens_are_recorded_as_issued_by_the_implicit_grant(server, make_client, alice):
    slideshow = make_client("Slideshow", grants=(G.IMPLICIT,), redirect_uris=[PRINTER_CALLBACK], public=True)
    url = server.authorize + "?" + urlencode({"response_type": "token", "client_id": slideshow.client_id,
                                              "redirect_uri": PRINTER_CALLBACK, "scope": "photos", "state": "s"})
    assert "access_token=" in Browser().authorize(url, "alice", PASSWORDS["alice"])
    issued = one("token_issued")
    assert (issued.client, issued.user, issued.grant_type, issued.scopes) == (slideshow.model, alice, "implicit",
                                                                              "photos")


def test_failed_client_authentication_is_recorded_with_the_claimed_client(server, backup_service):
    cc = {"grant_type": "client_credentials", "scope": "photos"}
    assert requests.post(server.token, data=cc, auth=(backup_service.client_id, "guess")).status_code == 401
    assert requests.post(server.token, data=cc, auth=("no-such-client", "guess")).status_code == 401
    assert requests.post(server.revoke, data={"token": "x"}).status_code == 401
    wrong = one("client_auth_failed", oauth_client_id=backup_service.client_id)
    assert wrong.client == backup_service.model and wrong.detail == "wrong client secret at /oauth/token"
    assert wrong.grant_type == "client_credentials"
    unknown = one("client_auth_failed", oauth_client_id="no-such-client")
    assert unknown.client is None and unknown.detail.startswith("unknown or disabled client")
    assert one("client_auth_failed", oauth_client_id="").detail.endswith("at /oauth/revoke")


def test_public_client_that_does_not_exist_is_recorded(server):
    r = requests.post(server.token, data={"grant_type": "authorization_code", "code": "x", "client_id": "ghost",
                                          "redirect_uri": PRINTER_CALLBACK})
    assert r.status_code == 401
    assert one("client_auth_failed", oauth_client_id="ghost").detail == "no client credentials at /oauth/token"


# --- sign-in ------------------------------------------------------------------------------------------------
def test_failed_and_locked_out_sign_ins_are_recorded_once_each(alice):
    def sign_in(password):
        return Client(REMOTE_ADDR="198.51.100.20").post("/accounts/login/", {"username": "alice", "password": password})

    for _ in range(5):
        sign_in("wrong-password")
    assert len(events("login_failed", username="alice", ip="198.51.100.20")) == 5
    assert len(events("login_locked_out", username="alice")) == 1
    assert sign_in(PASSWORDS["alice"]).status_code == 429
    # Refused while locked out: one more lockout event, not a failed password.
    assert len(events("login_failed")) == 5 and len(events("login_locked_out")) == 2
    assert not events("login_succeeded")


def test_password_grant_failures_are_sign_in_failures(server, mobile_app, alice):
    assert password_token(server, mobile_app, password="wrong-password").json()["error"] == "invalid_grant"
    failed = one("login_failed")
    assert (failed.username, failed.grant_type, failed.ip) == ("alice", "password", "127.0.0.1")
    assert failed.detail == "wrong username or password at /oauth/token"


# --- assertions ---------------------------------------------------------------------------------------------
@pytest.fixture
def partner_service(make_client):
    return make_client("Partner Service", grants=(G.JWT_BEARER,), scopes=("photos",),
                       auth_method=ClientAuthMethod.PRIVATE_KEY_JWT, jwks=jwks(public_jwk(RSA, kid="p-1")))


@pytest.fixture
def portal(make_client):
    return make_client("Intranet portal", grants=(G.SAML2_BEARER.value,), scopes=("photos", "userinfo/readonly"))


def test_refused_assertions_are_recorded_with_the_rule_that_failed(server, partner_service, portal, acme_idp,
                                                                   rogue_idp, alice):
    bad_audience = sign(claims(iss=partner_service.client_id, sub=partner_service.client_id,
                               aud="https://elsewhere.example/token"), RSA, kid="p-1")
    r = requests.post(server.token, data={"grant_type": G.JWT_BEARER.value, "assertion": bad_audience})
    assert r.json()["error"] == "invalid_grant"
    jwt_refusal = one("assertion_refused", grant_type=G.JWT_BEARER.value)
    assert jwt_refusal.client == partner_service.model
    assert jwt_refusal.detail == "JWT bearer: audience (aud) does not include the token endpoint or the issuer"

    r = requests.post(server.token, data={"grant_type": G.SAML2_BEARER.value,
                                          "assertion": acme_idp.encoded(key=rogue_idp)},
                      auth=(portal.client_id, portal.secret))
    assert r.json()["error"] == "invalid_grant"
    saml_refusal = one("assertion_refused", grant_type=G.SAML2_BEARER.value)
    assert saml_refusal.client == portal.model and saml_refusal.detail.startswith("SAML 2.0 bearer: ")

    forged = sign(claims(iss=partner_service.client_id, sub=partner_service.client_id, aud=server.token), EC)
    r = requests.post(server.token, data={"grant_type": "client_credentials", "scope": "photos",
                                          "client_assertion_type": CLIENT_ASSERTION_TYPE_JWT_BEARER,
                                          "client_assertion": forged})
    assert r.status_code == 401
    key_refusal = one("assertion_refused", detail__startswith="private_key_jwt: ")
    assert key_refusal.client == partner_service.model
    assert one("client_auth_failed").detail.startswith("client assertion refused")


# --- admin ------------------------------------------------------------------------------------------------
@pytest.fixture
def admin_browser(db):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-2026")
    browser = Client(REMOTE_ADDR="192.0.2.1")
    browser.force_login(admin)
    browser.admin = admin
    return browser


def shown_secret(response):
    return re.search(r'id="client-secret">([^<]+)<', response.content.decode()).group(1)


def test_clients_created_and_changed_in_admin_are_recorded(admin_browser, scopes, backup_service):
    from oauth_server.models import Client as OAuthClient

    shown_secret(admin_browser.post("/admin/oauth_server/client/add/", add_form(scopes)))
    client = OAuthClient.objects.get(name="Photo Printer")
    created = one("client_created")
    assert (created.client, created.user, created.ip) == (client, admin_browser.admin, "192.0.2.1")

    admin_browser.post(f"/admin/oauth_server/client/{client.pk}/change/",
                       add_form(scopes, description="Prints photos", enabled=""))
    assert one("client_changed").detail.startswith("in admin: description, enabled")  # field names, never values

    admin_browser.post(f"/admin/oauth_server/client/{client.pk}/regenerate-secret/")
    # The change form disabled it: enable it again, then disable it with the action.
    admin_browser.post("/admin/oauth_server/client/", {"action": "enable_clients", "_selected_action": [client.pk]})
    admin_browser.post("/admin/oauth_server/client/", {"action": "disable_clients", "_selected_action": [client.pk]})
    admin_browser.post("/admin/oauth_server/client/", {"action": "revoke_tokens",
                                                       "_selected_action": [backup_service.model.pk]})
    details = list(AuditEvent.objects.filter(client=client, event="client_changed").values_list("detail", flat=True))
    assert set(details) - {one("client_changed", detail__contains="description").detail} == {
        "in admin: client secret regenerated", "in admin: enabled", "in admin: disabled"}
    revoked = one("token_revoked", client=backup_service.model)
    assert (revoked.client, revoked.user) == (backup_service.model, admin_browser.admin)
    assert revoked.detail.startswith("in admin: all tokens of the client")


def test_admin_lists_filters_and_searches_the_trail_read_only(admin_browser, backup_service, alice):
    AuditEvent.objects.all().delete()  # the admin's own sign-in
    audit.record(audit.Event.TOKEN_ISSUED, client=backup_service.model, user=alice, ip="203.0.113.8")
    audit.record(audit.Event.LOGIN_FAILED, username="bob", ip="203.0.113.9")
    def listed(**params):
        page = admin_browser.get("/admin/audit/auditevent/?" + urlencode(params))
        assert page.status_code == 200
        return set(re.findall(r'class="field-event">([^<]+)<', page.content.decode()))

    assert listed() == {"token issued", "login failed"}
    assert listed(q=backup_service.client_id) == {"token issued"}
    assert listed(q="alice") == {"token issued"}
    assert listed(q="203.0.113.9") == {"login failed"}
    assert listed(q=backup_service.model.name[:6]) == {"token issued"}
    assert listed(event__exact="login_failed") == {"login failed"}
    assert listed(time__year=str(event_year())) == {"token issued", "login failed"}
    event = AuditEvent.objects.get(event="token_issued")
    assert admin_browser.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert admin_browser.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_browser.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def event_year():
    return AuditEvent.objects.first().time.year


# --- nothing secret, anywhere -------------------------------------------------------------------------------
def test_no_token_secret_password_or_assertion_ever_reaches_the_trail(server, audit_log, make_client, photo_printer,
                                                                      partner_service, portal, acme_idp, rogue_idp,
                                                                      admin_browser, scopes, alice, bob):
    secrets_seen = {photo_printer.secret, partner_service.secret, portal.secret, PASSWORDS["alice"], PASSWORDS["bob"]}
    secrets_seen.discard(None)

    def keep(*values):
        secrets_seen.update(v for v in values if v)
        return values[0] if len(values) == 1 else values

    mobile = make_client("Mobile", grants=(G.PASSWORD, G.REFRESH_TOKEN))
    keep(mobile.secret)
    wrong_password, wrong_secret = keep("wrong-" + secrets.token_urlsafe(12), "guess-" + secrets.token_urlsafe(24))

    # Tokens: password grant (and a refresh, a replayed refresh, a revocation), failures, lockout.
    token = password_token(server, mobile).json()
    keep(token["access_token"], token["refresh_token"])
    auth = (mobile.client_id, mobile.secret)
    refreshed = requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                              auth=auth).json()
    keep(refreshed["access_token"], refreshed["refresh_token"])
    requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}, auth=auth)
    again = password_token(server, mobile).json()
    keep(again["access_token"], again["refresh_token"])
    requests.post(server.revoke, data={"token": again["refresh_token"]}, auth=auth)
    requests.post(server.token, data={"grant_type": "client_credentials"}, auth=(mobile.client_id, wrong_secret))
    requests.post(server.token, data={"grant_type": "client_credentials", "client_id": "ghost",
                                      "client_secret": wrong_secret})
    for _ in range(6):
        password_token(server, mobile, username="bob", password=wrong_password)

    # Authorization code: consent, exchange, replay; sign-in failures on the login page.
    browser = Browser()
    page = browser.get(server.url + "/accounts/login/")
    browser.post_form(page, {"username": "alice", "password": wrong_password})
    verifier = keep(secrets.token_urlsafe(48))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = server.authorize + "?" + urlencode({"response_type": "code", "client_id": photo_printer.client_id,
                                              "redirect_uri": PRINTER_CALLBACK, "scope": "photos", "state": "s",
                                              "code_challenge": challenge, "code_challenge_method": "S256"})
    code = keep(callback_params(browser.authorize(url, "alice", PASSWORDS["alice"]))["code"])
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": PRINTER_CALLBACK,
                "code_verifier": verifier}
    printer_token = requests.post(server.token, data=exchange, auth=(photo_printer.client_id, photo_printer.secret))
    assert printer_token.status_code == 200, printer_token.text
    requests.post(server.token, data=exchange, auth=(photo_printer.client_id, photo_printer.secret))

    # Assertions: JWT bearer (good and refused), private_key_jwt refused, SAML (good and refused).
    good_jwt = keep(sign(claims(iss=partner_service.client_id, sub="alice", aud=server.token), RSA, kid="p-1"))
    keep(requests.post(server.token, data={"grant_type": G.JWT_BEARER.value, "assertion": good_jwt}).json()["access_token"])
    bad_jwt = keep(sign(claims(iss=partner_service.client_id, sub="alice", aud="https://elsewhere.example"), RSA,
                        kid="p-1"))
    requests.post(server.token, data={"grant_type": G.JWT_BEARER.value, "assertion": bad_jwt})
    forged = keep(sign(claims(iss=partner_service.client_id, sub=partner_service.client_id, aud=server.token), EC))
    requests.post(server.token, data={"grant_type": "client_credentials", "scope": "photos",
                                      "client_assertion_type": CLIENT_ASSERTION_TYPE_JWT_BEARER,
                                      "client_assertion": forged})
    good_saml = keep(acme_idp.encoded(name_id="alice"))
    saml_token = requests.post(server.token, data={"grant_type": G.SAML2_BEARER.value, "assertion": good_saml,
                                                   "scope": "photos"}, auth=(portal.client_id, portal.secret)).json()
    keep(saml_token["access_token"])
    bad_saml = keep(acme_idp.encoded(key=rogue_idp))
    requests.post(server.token, data={"grant_type": G.SAML2_BEARER.value, "assertion": bad_saml},
                  auth=(portal.client_id, portal.secret))

    # Admin: a client created (its secret shown once), changed, its secret regenerated, tokens revoked.
    from oauth_server.models import Client as OAuthClient

    keep(shown_secret(admin_browser.post("/admin/oauth_server/client/add/", add_form(scopes, name="Admin made"))))
    made = OAuthClient.objects.get(name="Admin made")
    admin_browser.post(f"/admin/oauth_server/client/{made.pk}/change/",
                       add_form(scopes, name="Admin made", description="changed"))
    keep(shown_secret(admin_browser.post(f"/admin/oauth_server/client/{made.pk}/regenerate-secret/")))
    admin_browser.post("/admin/oauth_server/client/", {"action": "revoke_tokens", "_selected_action": [mobile.model.pk]})

    # The user withdraws the printer's access on the Connected apps page.
    keep(printer_token.json()["access_token"], printer_token.json()["refresh_token"])
    apps = browser.get(server.url + "/accounts/apps/")
    browser.post_form(apps, form_index=0)

    recorded = set(AuditEvent.objects.values_list("event", flat=True))
    assert recorded == set(audit.Event.values), set(audit.Event.values) - recorded
    rows = [" | ".join(str(v) for v in values) for values in AuditEvent.objects.values_list()]
    assert len(audit_log) == len(rows) > 20
    secrets_seen = {s for s in secrets_seen if len(s) >= 12}
    assert len(secrets_seen) >= 20
    for secret in secrets_seen:
        # Not the value, and not a piece of it either (a prefix, a suffix, anything 12 characters long).
        pieces = {secret[i:i + 12] for i in range(0, len(secret) - 11, 4)} | {secret[-12:]}
        for text in rows + audit_log:
            for piece in pieces:
                assert piece not in text, f"a piece of a secret ({secret[:4]}...) is in the trail: {text}"
