"""manage.py importidp: trusting a SAML IdP from its metadata XML, safely."""

import json

import pytest
from django.core.management import CommandError, call_command

from saml_bridge import assertions, registry
from saml_bridge.models import TrustedIdentityProvider
from saml_bridge.management.commands.importidp import Command as ImportIdP
from tests.saml_idp import ACME_ENTITY_ID, TestIdP

pytestmark = pytest.mark.django_db


def importidp(path, *args):
    out, err = _Capture(), _Capture()
    call_command("importidp", str(path), *args, stdout=out, stderr=err)
    return out.text, err.text


class _Capture:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


@pytest.fixture
def acme_metadata(tmp_path, _acme_signer):
    path = tmp_path / "acme-test-metadata.xml"
    path.write_text(_acme_signer.metadata_xml())
    return path


def certificate_base64(signer):
    return "".join(signer.certificate_pem.strip().splitlines()[1:-1])


def entity(entity_id, *keys):
    """An IdP EntityDescriptor with KeyDescriptors for (certificate, use) pairs; use None: no use attribute."""
    descriptors = "".join(
        f'<md:KeyDescriptor{f" use={chr(34)}{use}{chr(34)}" if use else ""}><ds:KeyInfo><ds:X509Data>'
        f"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for cert, use in keys)
    return (f'<md:EntityDescriptor entityID="{entity_id}"><md:IDPSSODescriptor protocolSupportEnumeration='
            f'"urn:oasis:names:tc:SAML:2.0:protocol">{descriptors}</md:IDPSSODescriptor></md:EntityDescriptor>')


def document(*entities):
    namespaces = 'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
    if len(entities) == 1:
        return entities[0].replace("<md:EntityDescriptor ", f"<md:EntityDescriptor {namespaces} ", 1)
    return f"<md:EntitiesDescriptor {namespaces}>{''.join(entities)}</md:EntitiesDescriptor>"


def test_imports_the_idp_and_prints_its_entity_id(acme_metadata):
    out, err = importidp(acme_metadata)
    assert out.strip() == ACME_ENTITY_ID
    assert "created" in err
    idp = TrustedIdentityProvider.objects.get(entity_id=ACME_ENTITY_ID)
    assert idp.enabled and not idp.auto_provision and len(idp.certificate_pems()) == 1
    assert "IDPSSODescriptor" in idp.metadata_xml


def test_imported_idp_assertions_are_accepted(acme_metadata, _acme_signer, alice):
    importidp(acme_metadata)
    verified = assertions.validate_assertion(
        _acme_signer.assertion(), audiences=registry.sp_audiences(), recipient=registry.token_endpoint_url())
    assert assertions.resolve_user(verified) == alice


def test_auto_provision_and_disabled_flags(acme_metadata):
    importidp(acme_metadata, "--auto-provision", "--disabled")
    idp = TrustedIdentityProvider.objects.get()
    assert idp.auto_provision and not idp.enabled


def test_reimport_replaces_certificates_and_keeps_flags(tmp_path, acme_metadata, saml_test_keys):
    importidp(acme_metadata, "--auto-provision")
    rotated = TestIdP(ACME_ENTITY_ID, *saml_test_keys["rogue"])  # the same IdP, a new key
    path = tmp_path / "rotated-test-metadata.xml"
    path.write_text(rotated.metadata_xml())
    out, err = importidp(path)
    assert out.strip() == ACME_ENTITY_ID and "updated" in err
    idp = TrustedIdentityProvider.objects.get()
    assert idp.certificate_pems() == [rotated.certificate_pem]
    assert idp.auto_provision


def test_json_summary(acme_metadata):
    out, _ = importidp(acme_metadata, "--json")
    assert json.loads(out) == {"entity_id": ACME_ENTITY_ID, "name": ACME_ENTITY_ID, "created": True, "enabled": True,
                               "auto_provision": False, "signing_certificates": 1}


def test_reads_metadata_without_key_use_and_ignores_encryption_keys(tmp_path, _acme_signer, _rogue_signer):
    xml = document(entity("https://idp.example/saml", (certificate_base64(_acme_signer), None),
                          (certificate_base64(_rogue_signer), "encryption")))
    path = tmp_path / "no-use-test-metadata.xml"
    path.write_text(xml)
    importidp(path)
    assert TrustedIdentityProvider.objects.get().certificate_pems() == [_acme_signer.certificate_pem]


def test_aggregate_needs_the_entity_id_of_one_idp(tmp_path, _acme_signer, _rogue_signer):
    path = tmp_path / "aggregate-test-metadata.xml"
    path.write_text(document(entity("https://a.example/idp", (certificate_base64(_acme_signer), "signing")),
                             entity("https://b.example/idp", (certificate_base64(_rogue_signer), "signing"))))
    with pytest.raises(CommandError, match="2 identity providers"):
        importidp(path)
    out, _ = importidp(path, "--entity-id", "https://b.example/idp")
    assert out.strip() == "https://b.example/idp"
    assert TrustedIdentityProvider.objects.get().certificate_pems() == [_rogue_signer.certificate_pem]


@pytest.mark.parametrize("xml, message", [
    ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "DTD"),
    ("<md:EntityDescriptor", "well-formed"),
    ('<html xmlns="http://www.w3.org/1999/xhtml"/>', "not SAML 2.0 metadata"),
])
def test_refuses_unsafe_or_broken_files(tmp_path, xml, message):
    path = tmp_path / "bad-test-metadata.xml"
    path.write_text(xml)
    with pytest.raises(CommandError, match=message):
        importidp(path)
    assert not TrustedIdentityProvider.objects.exists()


def test_refuses_service_provider_metadata(tmp_path):
    path = tmp_path / "sp-test-metadata.xml"
    path.write_bytes(registry.sp_metadata_xml())
    with pytest.raises(CommandError, match="service provider"):
        importidp(path)


def test_refuses_metadata_without_signing_certificate(tmp_path, _acme_signer):
    path = tmp_path / "enc-only-test-metadata.xml"
    path.write_text(document(entity("https://a.example/idp", (certificate_base64(_acme_signer), "encryption"))))
    with pytest.raises(CommandError, match="no signing certificate"):
        importidp(path)


def test_refuses_a_broken_certificate(tmp_path):
    path = tmp_path / "broken-test-metadata.xml"
    path.write_text(document(entity("https://a.example/idp", ("bm90IGEgY2VydGlmaWNhdGU=", "signing"))))
    with pytest.raises(CommandError, match="not a valid certificate"):
        importidp(path)


def test_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        importidp(tmp_path / "missing-test.xml")


def test_help_names_the_options():
    text = ImportIdP().create_parser("manage.py", "importidp").format_help()
    assert all(option in text for option in ("METADATA_FILE", "--auto-provision", "--disabled", "--entity-id"))


def test_name_comes_from_the_metadata_display_name(tmp_path, _acme_signer):
    organization = ('<md:Organization><md:OrganizationName xml:lang="en">acme</md:OrganizationName>'
                    '<md:OrganizationDisplayName xml:lang="en">ACME Corp</md:OrganizationDisplayName>'
                    '<md:OrganizationURL xml:lang="en">https://acme.test</md:OrganizationURL></md:Organization>')
    xml = document(entity("https://a.example/idp", (certificate_base64(_acme_signer), "signing"))).replace(
        "</md:IDPSSODescriptor>", f"</md:IDPSSODescriptor>{organization}")
    path = tmp_path / "org-test-metadata.xml"
    path.write_text(xml)
    importidp(path)
    assert TrustedIdentityProvider.objects.get().name == "ACME Corp"
