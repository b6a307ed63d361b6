"""Our SP metadata at /saml/metadata/, which an IdP admin loads to register this server."""

import defusedxml.ElementTree as SafeET
import pytest
from saml2 import md

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
ALG = "{urn:oasis:names:tc:SAML:metadata:algsupport}"


def metadata(client):
    response = client.get("/saml/metadata/")
    assert response.status_code == 200
    return response, SafeET.fromstring(response.content)


def test_metadata_is_served_as_saml_metadata(client):
    response, _ = metadata(client)
    assert response["Content-Type"] == "application/samlmetadata+xml"


def test_metadata_names_our_entity_id_and_the_token_endpoint(client, settings):
    _, root = metadata(client)
    assert root.tag == f"{MD}EntityDescriptor"
    assert root.get("entityID") == settings.OAUTH_ISSUER
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp.get("WantAssertionsSigned") == "true"
    assert "urn:oasis:names:tc:SAML:2.0:protocol" in sp.get("protocolSupportEnumeration")
    acs = sp.find(f"{MD}AssertionConsumerService")
    assert acs.get("Location") == settings.OAUTH_ISSUER + "/oauth/token"


def test_entity_id_follows_the_saml_entity_id_setting(client, settings):
    settings.SAML_ENTITY_ID = "urn:example:oauth-gateway"
    _, root = metadata(client)
    assert root.get("entityID") == "urn:example:oauth-gateway"


def test_entity_id_defaults_to_the_issuer_as_configured_now(client, settings):
    settings.SAML_ENTITY_ID = ""
    settings.OAUTH_ISSUER = "https://auth.example.com"
    _, root = metadata(client)
    assert root.get("entityID") == "https://auth.example.com"
    assert root.find(f"{MD}SPSSODescriptor/{MD}AssertionConsumerService").get("Location") == \
        "https://auth.example.com/oauth/token"


def test_metadata_advertises_only_sha256_or_stronger(client):
    _, root = metadata(client)
    algorithms = [e.get("Algorithm") for e in root.iter() if e.tag in (f"{ALG}DigestMethod", f"{ALG}SigningMethod")]
    assert algorithms and not [a for a in algorithms if "sha1" in a or "md5" in a]


def test_pysaml2_reads_the_metadata(client, settings):
    response, _ = metadata(client)
    descriptor = md.entity_descriptor_from_string(response.content)
    assert descriptor.entity_id == settings.OAUTH_ISSUER


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_metadata_is_read_only(client, method):
    assert getattr(client, method)("/saml/metadata/").status_code == 405
