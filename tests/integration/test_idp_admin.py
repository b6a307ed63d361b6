"""Trusted identity providers in Django admin: metadata upload or paste, PEM paste, clear errors."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from saml_bridge import registry
from saml_bridge.models import TrustedIdentityProvider
from tests.saml_idp import ACME_ENTITY_ID

pytestmark = pytest.mark.django_db

ADD = "/admin/saml_bridge/trustedidentityprovider/add/"
LIST = "/admin/saml_bridge/trustedidentityprovider/"


def form(**fields):
    data = {"name": "", "entity_id": "", "enabled": "on", "metadata_xml": "", "signing_certificates": "",
            "username_source": "name_id", "username_attribute": "", "email_attribute": "", "allowed_clients": []}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def errors(response):
    assert response.status_code == 200, "the form was accepted"
    return " ".join(str(e) for field in response.context["adminform"].form.errors.values() for e in field)


def test_admin_creates_idp_from_uploaded_metadata(admin_client, _acme_signer):
    upload = SimpleUploadedFile("acme-test-metadata.xml", _acme_signer.metadata_xml().encode(), "text/xml")
    response = admin_client.post(ADD, form(metadata_file=upload))
    assert response.status_code == 302
    idp = TrustedIdentityProvider.objects.get()
    assert idp.entity_id == ACME_ENTITY_ID and idp.certificate_pems() == [_acme_signer.certificate_pem]
    assert idp.name == ACME_ENTITY_ID and not idp.auto_provision


def test_admin_creates_idp_from_pasted_metadata(admin_client, _acme_signer):
    response = admin_client.post(ADD, form(name="ACME", metadata_xml=_acme_signer.metadata_xml()))
    assert response.status_code == 302
    assert TrustedIdentityProvider.objects.get().name == "ACME"


def test_admin_creates_idp_from_entity_id_and_pasted_certificate(admin_client, _acme_signer):
    response = admin_client.post(ADD, form(entity_id="https://idp.example/saml",
                                           signing_certificates=_acme_signer.certificate_pem))
    assert response.status_code == 302
    assert TrustedIdentityProvider.objects.get().certificate_pems() == [_acme_signer.certificate_pem]


def test_admin_refuses_a_broken_pem_with_a_clear_message(admin_client, _acme_signer):
    broken = _acme_signer.certificate_pem.replace("M", "*", 3)
    response = admin_client.post(ADD, form(entity_id="https://idp.example/saml", signing_certificates=broken))
    assert "Certificate 1 is not a valid X.509 certificate" in errors(response)
    assert not TrustedIdentityProvider.objects.exists()


def test_admin_refuses_a_private_key(admin_client, _acme_signer):
    with open(_acme_signer.key_file) as f:
        key = f.read()
    response = admin_client.post(ADD, form(entity_id="https://idp.example/saml", signing_certificates=key))
    assert "private key" in errors(response)


def test_admin_refuses_text_that_is_not_pem(admin_client):
    response = admin_client.post(ADD, form(entity_id="https://idp.example/saml", signing_certificates="hello"))
    assert "Only PEM certificate blocks" in errors(response)


def test_admin_requires_a_certificate_or_metadata(admin_client):
    response = admin_client.post(ADD, form(entity_id="https://idp.example/saml"))
    assert "Paste at least one PEM certificate" in errors(response)


def test_admin_refuses_metadata_with_a_dtd(admin_client):
    xxe = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    upload = SimpleUploadedFile("xxe-test.xml", xxe.encode(), "text/xml")
    assert "DTD" in errors(admin_client.post(ADD, form(metadata_file=upload)))


def test_admin_refuses_service_provider_metadata(admin_client):
    response = admin_client.post(ADD, form(metadata_xml=registry.sp_metadata_xml().decode()))
    assert "service provider" in errors(response)


def test_admin_requires_the_attribute_name_when_usernames_come_from_an_attribute(admin_client, _acme_signer):
    response = admin_client.post(ADD, form(metadata_xml=_acme_signer.metadata_xml(), username_source="attribute"))
    assert "Name the attribute" in errors(response)


def test_admin_refuses_metadata_of_another_entity_on_an_existing_idp(admin_client, acme_idp, _rogue_signer):
    change = f"{LIST}{acme_idp.model.pk}/change/"
    response = admin_client.post(change, form(name="ACME", entity_id=ACME_ENTITY_ID,
                                              signing_certificates=acme_idp.model.signing_certificates,
                                              metadata_xml=_rogue_signer.metadata_xml()))
    assert "add a new identity provider" in errors(response)


def test_admin_limits_an_idp_to_some_clients(admin_client, acme_idp, photo_printer, backup_service):
    change = f"{LIST}{acme_idp.model.pk}/change/"
    response = admin_client.post(change, form(name="ACME", entity_id=ACME_ENTITY_ID,
                                              signing_certificates=acme_idp.model.signing_certificates,
                                              metadata_xml=acme_idp.model.metadata_xml,
                                              allowed_clients=[photo_printer.model.pk]))
    assert response.status_code == 302
    assert acme_idp.model.allows_client(photo_printer.model)
    assert not acme_idp.model.allows_client(backup_service.model)


def test_admin_change_page_shows_certificate_fingerprints(admin_client, acme_idp):
    response = admin_client.get(f"{LIST}{acme_idp.model.pk}/change/")
    assert response.status_code == 200
    assert b"SHA-256" in response.content and b"acme-idp" in response.content


def test_admin_lists_searches_and_filters(admin_client, acme_idp):
    TrustedIdentityProvider.objects.create(name="Globex", entity_id="https://globex.example/idp",
                                           signing_certificates=acme_idp.model.signing_certificates, enabled=False)
    assert b"Globex" in admin_client.get(LIST).content
    found = admin_client.get(LIST, {"q": "acme"}).content
    assert b"idp.acme.test" in found and b"Globex" not in found
    enabled = admin_client.get(LIST, {"enabled__exact": "1"}).content
    assert b"idp.acme.test" in enabled and b"Globex" not in enabled


def test_admin_action_disables_idps(admin_client, acme_idp):
    response = admin_client.post(LIST, {"action": "disable", "_selected_action": [acme_idp.model.pk]})
    assert response.status_code == 302
    assert not TrustedIdentityProvider.objects.get().enabled


def test_model_validation_refuses_a_broken_certificate_outside_admin(_acme_signer):
    idp = TrustedIdentityProvider(name="x", entity_id="https://x.example/idp",
                                  signing_certificates="-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
    with pytest.raises(ValidationError, match="not a valid X.509 certificate"):
        idp.full_clean()
