"""Registering clients' public keys: validated when saved, in admin and in manage.py createclient."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from oauth_server.constants import ClientAuthMethod
from oauth_server.constants import GrantType as G
from oauth_server.models import Client
from oauth_server.registration import client_register
from tests.unit.test_jwt_support import (
    certificate_pem,
    jwks,
    private_jwk,
    private_key,
    private_pem,
    public_jwk,
)

pytestmark = pytest.mark.django_db

RSA, EC = private_key("rsa"), private_key("ec")
GOOD_JWKS = jwks(public_jwk(RSA, kid="partner-1"), public_jwk(EC, kid="partner-2"))


def add_form(scopes, **overrides):
    data = {
        "name": "Partner Service", "description": "", "logo_url": "", "contact_email": "", "enabled": "on",
        "client_type": "confidential", "token_endpoint_auth_method": "private_key_jwt",
        "allowed_grant_types": [G.JWT_BEARER], "redirect_uris": "",
        "allowed_scopes": [scopes["photos"].pk], "default_scopes": [scopes["photos"].pk],
        "jwks": json.dumps(GOOD_JWKS), "jwks_uri": "", "certificate": "", "access_token_format": "jwt",
        "access_token_lifetime": "", "refresh_token_lifetime": "", "user": "", "post_logout_redirect_uris": "",
        "allowed_origins": "", "algorithm": "",
    }
    data.update(overrides)
    return data


def register(**fields):
    values = {"name": "Partner", "grant_types": [G.JWT_BEARER], "auth_method": ClientAuthMethod.PRIVATE_KEY_JWT,
              "jwks": GOOD_JWKS}
    values.update(fields)
    return client_register(**values)


def refusal(**fields):
    with pytest.raises(ValidationError) as info:
        register(**fields)
    return info.value.message_dict


# --- admin -----------------------------------------------------------------------------------------------
def test_admin_registers_a_key_client_without_a_secret(admin_client, scopes):
    response = admin_client.post("/admin/oauth_server/client/add/", add_form(scopes))
    assert response.status_code == 302, response.content[:2000]
    client = Client.objects.get(name="Partner Service")
    assert client.jwks == GOOD_JWKS and client.client_secret == "" and client.access_token_format == "jwt"


@pytest.mark.parametrize("overrides, message", [
    ({"jwks": "{not json"}, "The JWKS is not valid JSON"),
    ({"jwks": json.dumps({"kty": "RSA"})}, "A JWKS is a JSON object with a &quot;keys&quot; list"),
    ({"jwks": json.dumps(jwks({"kty": "RSA", "n": "AQAB", "e": "AQAB"}))}, "Key 1 is not a valid RSA public key"),
    ({"jwks": json.dumps(jwks(private_jwk(RSA, kid="oops")))}, "Key 1 (oops) contains private key material"),
    ({"jwks": json.dumps(jwks({"kty": "oct", "k": "c2VjcmV0"}))}, "is a symmetric (&quot;oct&quot;) key"),
    ({"jwks": "", "certificate": "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----"},
     "This is not a valid PEM-encoded X.509 certificate"),
    ({"jwks": "", "certificate": private_pem(RSA)}, "This is a private key. Paste the certificate only"),
    ({"jwks": ""}, "private_key_jwt needs the client&#x27;s public keys"),
])
def test_admin_refuses_broken_keys_with_a_clear_message(admin_client, scopes, overrides, message):
    response = admin_client.post("/admin/oauth_server/client/add/", add_form(scopes, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Client.objects.exists()


def test_a_refused_private_key_is_not_sent_back_in_the_page(admin_client, scopes):
    pem = private_pem(RSA)
    response = admin_client.post("/admin/oauth_server/client/add/", add_form(scopes, jwks="", certificate=pem))
    assert b"This is a private key" in response.content
    assert pem.splitlines()[5] not in response.content.decode()
    private = private_jwk(RSA, kid="oops")
    response = admin_client.post("/admin/oauth_server/client/add/", add_form(scopes, jwks=json.dumps(jwks(private))))
    assert b"contains private key material" in response.content
    assert private["d"] not in response.content.decode()


def test_admin_keeps_the_old_forms_working_without_key_fields(admin_client, scopes):
    data = add_form(scopes, token_endpoint_auth_method="client_secret_basic", allowed_grant_types=[G.CLIENT_CREDENTIALS])
    for field in ("jwks", "jwks_uri", "certificate", "access_token_format"):
        data.pop(field)
    response = admin_client.post("/admin/oauth_server/client/add/", data)
    assert response.status_code == 200 and b'id="client-secret"' in response.content
    assert Client.objects.get().access_token_format == "opaque"


def test_regenerate_secret_is_refused_for_a_key_client(admin_client):
    client, _ = register()
    response = admin_client.post(f"/admin/oauth_server/client/{client.pk}/regenerate-secret/", follow=True)
    assert b"has no secret" in response.content
    client.refresh_from_db()
    assert client.client_secret == ""


def test_signing_keys_are_listed_read_only_in_admin(admin_client):
    from oauth_server import signing_keys

    key = signing_keys.current_signing_key()
    page = admin_client.get("/admin/oauth_server/signingkey/").content.decode()
    assert key.kid in page
    assert admin_client.get("/admin/oauth_server/signingkey/add/").status_code == 403
    detail = admin_client.get(f"/admin/oauth_server/signingkey/{key.pk}/change/").content.decode()
    assert key.private_key not in detail


# --- model rules ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, message", [
    (private_key("rsa1024"), "RSA keys must have at least 2048 bits"),
    (private_key("ec384"), "EC keys must use the P-256 curve"),
])
def test_weak_or_unsupported_keys_are_refused(key, message):
    assert message in refusal(jwks=jwks(public_jwk(key, kid="k")))["jwks"][0]


def test_a_declared_hmac_algorithm_is_refused():
    assert "declares \"alg\": 'HS256'" in refusal(jwks=jwks(public_jwk(RSA, kid="k", alg="HS256")))["jwks"][0]


def test_duplicate_kids_are_refused():
    assert "same \"kid\"" in refusal(jwks=jwks(public_jwk(RSA, kid="k"), public_jwk(EC, kid="k")))["jwks"][0]


def test_jwt_bearer_grant_needs_keys():
    errors = refusal(auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC, jwks={})
    assert "The JWT bearer grant needs the client's public keys" in errors["jwks"][0]


def test_jwt_bearer_grant_needs_a_confidential_client():
    errors = refusal(public=True, auth_method=ClientAuthMethod.NONE)
    assert "needs a confidential client" in errors["allowed_grant_types"][0]


def test_jwks_uri_must_be_https_when_the_server_is(settings):
    settings.ISSUER_IS_HTTPS = True
    assert "https://" in refusal(jwks={}, jwks_uri="http://partner.example/jwks.json")["jwks_uri"][0]


def test_a_certificate_is_a_key_source():
    client, secret = register(jwks={}, certificate=certificate_pem(EC))
    assert secret is None and client.has_public_keys


# --- createclient --------------------------------------------------------------------------------------
def run(*args):
    out = StringIO()
    call_command("createclient", *args, stdout=out)
    return out.getvalue()


def test_createclient_with_a_jwks_file_and_private_key_jwt_prints_a_null_secret(scopes, tmp_path):
    path = tmp_path / "partner.jwks.json"
    path.write_text(json.dumps(GOOD_JWKS))
    data = json.loads(run("--name", "partner", "--grant-type", G.JWT_BEARER, "--grant-type", "client_credentials",
                          "--scope", "photos", "--token-endpoint-auth-method", "private_key_jwt",
                          "--jwks-file", str(path), "--access-token-format", "jwt", "--json"))
    assert data["client_secret"] is None
    client = Client.objects.get(client_id=data["client_id"])
    assert client.jwks == GOOD_JWKS and client.access_token_format == "jwt" and client.client_secret == ""


def test_createclient_with_a_certificate_file_or_a_jwks_uri(scopes, tmp_path):
    path = tmp_path / "partner.crt"
    path.write_text(certificate_pem(RSA))
    out = run("--name", "cert", "--grant-type", G.JWT_BEARER, "--scope", "photos",
              "--token-endpoint-auth-method", "private_key_jwt", "--certificate-file", str(path))
    assert "private_key_jwt: no secret" in out
    data = json.loads(run("--name", "remote", "--grant-type", G.JWT_BEARER, "--scope", "photos",
                          "--jwks-uri", "https://partner.example/jwks.json", "--json"))
    assert Client.objects.get(client_id=data["client_id"]).jwks_uri == "https://partner.example/jwks.json"
    assert data["client_secret"]  # registered for client_secret_basic: it also has a secret


def test_createclient_refuses_broken_keys_clearly(scopes, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(jwks(private_jwk(RSA, kid="oops"))))
    with pytest.raises(CommandError, match="contains private key material"):
        run("--name", "x", "--grant-type", G.JWT_BEARER, "--scope", "photos", "--jwks-file", str(bad))
    bad.write_text("not json")
    with pytest.raises(CommandError, match="is not JSON"):
        run("--name", "x", "--grant-type", G.JWT_BEARER, "--scope", "photos", "--jwks-file", str(bad))
    with pytest.raises(CommandError, match="needs the client's public keys"):
        run("--name", "x", "--grant-type", "client_credentials", "--scope", "photos",
            "--token-endpoint-auth-method", "private_key_jwt")
