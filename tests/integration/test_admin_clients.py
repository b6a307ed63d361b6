"""Registering and managing clients in Django admin."""

import base64
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client as HttpClient
from django.utils import timezone
from oauth2_provider.models import AccessToken, get_grant_model

from audit.models import AuditEvent
from oauth_server.constants import GrantType as G
from oauth_server.models import Client

pytestmark = pytest.mark.django_db


def add_form(scopes, **overrides):
    data = {
        "name": "Photo Printer", "description": "", "logo_url": "", "contact_email": "", "enabled": "on",
        "client_type": "confidential", "token_endpoint_auth_method": "client_secret_basic",
        "allowed_grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": "https://printer.example/callback",
        "allowed_scopes": [scopes["photos"].pk], "default_scopes": [scopes["photos"].pk],
        "access_token_lifetime": "", "refresh_token_lifetime": "", "user": "", "post_logout_redirect_uris": "",
        "allowed_origins": "", "algorithm": "",
    }
    data.update(overrides)
    return data


def basic_auth(client_id, secret):
    return "Basic " + base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()


def shown_secret(response):
    match = re.search(r'id="client-secret">([^<]+)<', response.content.decode())
    return match and match.group(1)


def test_new_client_secret_is_shown_once_and_stored_hashed(admin_client, scopes):
    response = admin_client.post("/admin/oauth_server/client/add/", add_form(scopes))
    assert response.status_code == 200, response.content[:500]
    secret = shown_secret(response)
    client = Client.objects.get(name="Photo Printer")
    assert secret and client.check_secret(secret) and secret not in client.client_secret
    assert "no-store" in response["Cache-Control"]
    assert set(client.allowed_grant_types) == {G.AUTHORIZATION_CODE, G.REFRESH_TOKEN}

    change_page = admin_client.get(f"/admin/oauth_server/client/{client.pk}/change/").content.decode()
    assert secret not in change_page


def test_invalid_registration_is_refused_with_a_message(admin_client, scopes):
    response = admin_client.post("/admin/oauth_server/client/add/", add_form(scopes, redirect_uris=""))
    assert response.status_code == 200 and b"need at least one redirect URI" in response.content
    assert not Client.objects.exists()


def test_regenerating_the_secret_invalidates_the_old_one(admin_client, backup_service):
    url = f"/admin/oauth_server/client/{backup_service.model.pk}/regenerate-secret/"
    assert admin_client.get(url).status_code == 200  # asks for confirmation first
    assert backup_service.model.check_secret(backup_service.secret)
    new_secret = shown_secret(admin_client.post(url))
    backup_service.model.refresh_from_db()
    assert new_secret and backup_service.model.check_secret(new_secret)
    assert not backup_service.model.check_secret(backup_service.secret)


def test_revoke_all_tokens_action(admin_client, backup_service):
    AccessToken.objects.create(application=backup_service.model, token="", token_checksum="a" * 64, scope="photos",
                               expires=timezone.now() + timedelta(hours=1))
    response = admin_client.post("/admin/oauth_server/client/", {
        "action": "revoke_tokens", "_selected_action": [backup_service.model.pk]}, follow=True)
    assert b"Revoked 1 access token" in response.content
    assert not AccessToken.objects.filter(application=backup_service.model).exists()


def client_credentials_token(client):
    response = HttpClient().post("/oauth/token", "grant_type=client_credentials", "application/x-www-form-urlencoded",
                                 secure=True, headers={"Authorization": basic_auth(client.client_id, client.secret)})
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def token_works(token):
    return HttpClient().get("/oauth/tokeninfo", {"access_token": token}, secure=True).status_code == 200


def test_disable_action_revokes_the_tokens_for_good(admin_client, backup_service):
    token = client_credentials_token(backup_service)
    response = admin_client.post("/admin/oauth_server/client/", {
        "action": "disable_clients", "_selected_action": [backup_service.model.pk]}, follow=True)
    assert b"Disabled 1 client(s)." in response.content
    assert b"Nightly Backup: revoked 1 access token(s)" in response.content
    backup_service.model.refresh_from_db()
    assert backup_service.model.enabled is False
    assert not token_works(token)
    admin_client.post("/admin/oauth_server/client/", {"action": "enable_clients",
                                                      "_selected_action": [backup_service.model.pk]})
    backup_service.model.refresh_from_db()
    assert backup_service.model.enabled is True
    assert not token_works(token)  # enabling the client again does not bring its old tokens back
    assert token_works(client_credentials_token(backup_service))
    revocations = AuditEvent.objects.filter(oauth_client_id=backup_service.client_id, event="token_revoked")
    assert list(revocations.values_list("detail", flat=True)) == [  # enabling had nothing left to revoke
        "in admin: all tokens of the client, on disabling it (1 access token(s), their refresh tokens and "
        "unused authorization codes)",
    ]


def test_enabling_an_enabled_client_keeps_its_tokens(admin_client, backup_service):
    token = client_credentials_token(backup_service)
    response = admin_client.post("/admin/oauth_server/client/", {
        "action": "enable_clients", "_selected_action": [backup_service.model.pk]}, follow=True)
    assert b"Enabled 0 client(s)." in response.content
    assert token_works(token)
    assert backup_service.model.enable() == 0 and token_works(token)


def test_enabling_revokes_a_token_that_slipped_in_while_the_client_was_disabled(backup_service):
    """A token request that read the client just before the disable committed may write its token after the
    disable revoked the others: enabling the client again must not bring that one to life."""
    backup_service.model.disable()
    late = AccessToken.objects.create(application=backup_service.model, token="late-token", scope="photos",
                                      expires=timezone.now() + timedelta(hours=1))
    assert not token_works("late-token")
    assert backup_service.model.enable() == 1
    assert not AccessToken.objects.filter(pk=late.pk).exists() and not token_works("late-token")


def test_unticking_enabled_on_the_change_form_revokes_the_tokens(admin_client, backup_service, scopes,
                                                                   django_capture_on_commit_callbacks):
    token = client_credentials_token(backup_service)
    assert token_works(token)
    url = f"/admin/oauth_server/client/{backup_service.model.pk}/change/"
    form = add_form(scopes, name=backup_service.model.name, client_id=backup_service.client_id,
                    allowed_grant_types=["client_credentials"], redirect_uris="")
    del form["enabled"]  # an unticked checkbox is not sent
    with django_capture_on_commit_callbacks(execute=True) as revocations:  # they run once the form commits
        response = admin_client.post(url, form)
    assert response.status_code == 302, response.content[:1000]
    assert revocations  # the revocation waited for the form's transaction
    backup_service.model.refresh_from_db()
    assert backup_service.model.enabled is False
    form["enabled"] = "on"
    assert admin_client.post(url, form).status_code == 302
    backup_service.model.refresh_from_db()
    assert backup_service.model.enabled is True
    assert not token_works(token)


def test_disabling_drops_unused_authorization_codes(backup_service, alice):
    Grant = get_grant_model()
    Grant.objects.create(application=backup_service.model, user=alice, code="pending-code", scope="photos",
                         redirect_uri="https://printer.example/callback", expires=timezone.now() + timedelta(minutes=1))
    backup_service.model.disable()
    assert not Grant.objects.filter(application=backup_service.model).exists()


def test_token_grant_and_consent_lists_are_searchable(admin_client, backup_service):
    for path in ("/admin/oauth2_provider/accesstoken/", "/admin/oauth2_provider/refreshtoken/",
                 "/admin/oauth2_provider/grant/", "/admin/oauth_server/consent/"):
        response = admin_client.get(path, {"q": "alice"})
        assert response.status_code == 200, path


def test_add_form_starts_clean(admin_client, scopes):
    page = admin_client.get("/admin/oauth_server/client/add/").content.decode()
    assert ">null</textarea>" not in page


def test_public_client_defaults_to_no_client_authentication(admin_client, scopes):
    # The form as the browser submits it: the method select still shows its default.
    form = add_form(scopes, client_type="public", name="Gallery SPA", token_endpoint_auth_method="client_secret_basic")
    response = admin_client.post("/admin/oauth_server/client/add/", form, follow=True)
    assert response.status_code == 200
    client = Client.objects.get(name="Gallery SPA")
    assert client.token_endpoint_auth_method == "none" and client.client_secret == ""


def test_client_change_page_has_no_broken_view_on_site_link(admin_client, backup_service):
    page = admin_client.get(f"/admin/oauth_server/client/{backup_service.model.pk}/change/").content.decode()
    assert "View on site" not in page
