"""The SAML 2.0 bearer assertion grant (RFC 7522) through HTTP, with pysaml2 as the identity provider.

Each rule of RFC 7522 §3 has a unit test in tests/unit/test_saml_assertions.py; here each refusal is
checked end to end: an `invalid_grant` naming the rule, never a 500, and no token.
"""

import base64
import datetime as dt

import pytest
import requests

from oauth_server.constants import GrantType as G

pytestmark = pytest.mark.django_db(transaction=True)

SAML2 = G.SAML2_BEARER.value


@pytest.fixture
def portal(make_client):
    """A confidential client allowed to exchange SAML assertions."""
    return make_client("Intranet portal", grants=(SAML2, G.REFRESH_TOKEN), scopes=("photos", "userinfo/readonly"))


def exchange(server, client, assertion, **extra):
    if isinstance(assertion, bytes):
        assertion = base64.urlsafe_b64encode(assertion).rstrip(b"=").decode()
    return requests.post(server.token, data={"grant_type": SAML2, "assertion": assertion, **extra},
                         auth=(client.client_id, client.secret), timeout=30)


def refused(response, *words):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_grant" and "access_token" not in body
    for word in words:
        assert word.lower() in body["error_description"].lower(), body["error_description"]
    return body


def minutes(n):
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=n)


def test_assertion_is_exchanged_for_a_token_for_the_right_user(server, portal, acme_idp, alice):
    r = exchange(server, portal, acme_idp.encoded(name_id="alice"), scope="userinfo/readonly")
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["scope"] == "userinfo/readonly" and token["refresh_token"]
    me = requests.get(server.url + "/api/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert me["username"] == "alice"


def test_scopes_stay_within_the_clients_allowed_ones(server, portal, acme_idp, alice):
    assert exchange(server, portal, acme_idp.encoded(), scope="photos/write").json()["error"] == "invalid_scope"


def test_client_not_allowed_the_grant_is_unauthorized(server, backup_service, acme_idp, alice):
    r = requests.post(server.token, data={"grant_type": SAML2, "assertion": acme_idp.encoded()},
                      auth=(backup_service.client_id, backup_service.secret))
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_client_authentication_is_required(server, portal, acme_idp, alice):
    r = requests.post(server.token, data={"grant_type": SAML2, "assertion": acme_idp.encoded()},
                      auth=(portal.client_id, "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_replayed_assertion_is_refused(server, portal, acme_idp, alice):
    assertion = acme_idp.encoded()
    assert exchange(server, portal, assertion).status_code == 200
    refused(exchange(server, portal, assertion), "already used")


def test_idp_restricted_to_other_clients_is_refused(server, portal, make_client, acme_idp, alice):
    other = make_client("Other portal", grants=(SAML2,))
    acme_idp.model.allowed_clients.set([other.model])
    refused(exchange(server, portal, acme_idp.encoded()), "may not present")
    assert exchange(server, other, acme_idp.encoded()).status_code == 200


def test_disabled_idp_is_refused(server, portal, acme_idp, alice):
    acme_idp.model.enabled = False
    acme_idp.model.save()
    refused(exchange(server, portal, acme_idp.encoded()), "rule 1")


def test_unknown_user_is_refused_without_auto_provisioning(server, portal, acme_idp):
    refused(exchange(server, portal, acme_idp.encoded(name_id="carol")), "not a known user")


def test_unknown_user_is_created_with_auto_provisioning(server, portal, acme_idp):
    acme_idp.model.auto_provision = True
    acme_idp.model.save()
    r = exchange(server, portal, acme_idp.encoded(name_id="carol"))
    assert r.status_code == 200
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.filter(username="carol").exists()


@pytest.mark.parametrize("overrides, words", [
    ({"signed": False}, ["not signed"]),
    ({"issuer": "https://idp.unknown.test/saml"}, ["rule 1"]),
    ({"audience": "https://someone-else.example"}, ["audience"]),
    ({"recipient": "https://someone-else.example/token"}, ["recipient"]),
    ({"method": "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"}, ["bearer"]),
    ({"not_on_or_after": minutes(-10), "confirmation_not_on_or_after": minutes(-10)}, ["rule"]),
    ({"not_before": minutes(10)}, ["rule"]),
], ids=["unsigned", "wrong-issuer", "wrong-audience", "wrong-recipient", "no-bearer-confirmation",
        "expired", "not-yet-valid"])
def test_each_rule_is_enforced_through_http(server, portal, acme_idp, alice, overrides, words):
    refused(exchange(server, portal, acme_idp.encoded(**overrides)), *words)


def test_assertion_signed_by_an_unknown_key_is_refused(server, portal, acme_idp, rogue_idp, alice):
    refused(exchange(server, portal, acme_idp.encoded(key=rogue_idp)))


def body_of(xml):
    return xml.decode().split("?>", 1)[-1]


def test_signature_wrapping_with_a_second_assertion_is_refused(server, portal, acme_idp, alice, bob):
    evil = body_of(acme_idp.assertion(name_id="bob", signed=False))
    xml = f'<w:Envelope xmlns:w="urn:test:wrapper">{evil}{body_of(acme_idp.assertion())}</w:Envelope>'
    refused(exchange(server, portal, xml.encode()))


def test_comment_in_name_id_is_refused(server, portal, acme_idp, alice):
    xml = acme_idp.assertion(name_id="alice.evil.test").replace(b">alice.evil.test<", b">alice<!---->.evil.test<")
    refused(exchange(server, portal, xml), "comment")


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE a [<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)) + "]>",
], ids=["xxe", "billion-laughs"])
def test_dtd_payloads_are_refused(server, portal, acme_idp, alice, doctype):
    xml = f'<?xml version="1.0"?>{doctype}{body_of(acme_idp.assertion())}'
    refused(exchange(server, portal, xml.encode()), "DTD")


@pytest.mark.parametrize("assertion", ["%%%not-base64%%%", "QQ", "A" * 200_000], ids=["garbage", "tiny", "oversized"])
def test_malformed_assertion_parameters_are_refused(server, portal, assertion):
    refused(exchange(server, portal, assertion))


def test_metadata_lists_the_grant(server, scopes):
    meta = requests.get(server.url + "/.well-known/oauth-authorization-server").json()
    assert SAML2 in meta["grant_types_supported"]
