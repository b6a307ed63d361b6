"""RFC 7522 §3 on SAML assertions signed by a real pysaml2 IdP: one failing test per rule, one override each."""

import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from saml2 import element_to_extension_element, saml
from saml2 import xmldsig as ds

from saml_bridge import assertions, registry
from saml_bridge.assertions import AssertionRejected, consume_assertion_id, decode_assertion_param, resolve_user
from saml_bridge.models import TrustedIdentityProvider, UsedAssertion, used_assertions_purge


pytestmark = pytest.mark.django_db

DS_NS = 'xmlns:ns1="http://www.w3.org/2000/09/xmldsig#"'
ERROR_DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §5.2


def validate(xml, **kwargs):
    return assertions.validate_assertion(
        xml, audiences=registry.sp_audiences(), recipient=registry.token_endpoint_url(), **kwargs)


def rejected(xml, **kwargs):
    """The AssertionRejected that `xml` causes; its reason must be a valid, short error_description."""
    with pytest.raises(AssertionRejected) as caught:
        validate(xml, **kwargs)
    reason = caught.value.reason
    assert ERROR_DESCRIPTION.fullmatch(reason) and len(reason) < 160, reason
    return caught.value


def body(xml):
    """The signed document without its XML declaration, as text: for building wrapping attacks."""
    return re.sub(r"^<\?xml[^>]*\?>\s*", "", xml.decode("utf-8"))


def now():
    return datetime.now(timezone.utc)


# --- the valid case ----------------------------------------------------------------------------------
def test_valid_assertion_is_accepted_and_maps_to_alice(acme_idp, alice):
    verified = validate(acme_idp.assertion())
    assert verified.issuer == acme_idp.entity_id and verified.idp == acme_idp.model
    assert verified.name_id == "alice"
    assert resolve_user(verified) == alice


def test_verified_assertion_reports_id_attributes_and_expiry(acme_idp):
    issued = now().replace(microsecond=0)
    verified = validate(acme_idp.assertion(now=issued, assertion_id="_a1", attributes={"mail": "a@example.org"}))
    assert verified.assertion_id == "_a1"
    assert verified.attributes == {"mail": ["a@example.org"]}
    assert verified.not_on_or_after == issued + timedelta(minutes=5)
    assert verified.replay_until == issued + timedelta(minutes=5, seconds=60)


def test_audience_may_be_the_token_endpoint_url(acme_idp):
    assert validate(acme_idp.assertion(audience=registry.token_endpoint_url()))


def test_accepts_assertion_within_the_clock_skew(acme_idp):
    assert validate(acme_idp.assertion(not_before=now() + timedelta(seconds=30)))


def test_accepts_assertion_signed_by_either_certificate_during_key_rollover(acme_idp, rogue_idp):
    model = acme_idp.model
    model.signing_certificates += rogue_idp.certificate_pem
    model.full_clean()
    model.save()
    assert validate(acme_idp.assertion(key=rogue_idp))


# --- RFC 7522 §3 rule 1: Issuer --------------------------------------------------------------------
def test_rejects_assertion_from_an_unknown_issuer(rogue_idp, acme_idp):
    assert rejected(rogue_idp.assertion()).rule == 1


def test_rejects_assertion_whose_issuer_is_not_the_signer(acme_idp, rogue_idp):
    TrustedIdentityProvider.objects.create(
        name="Rogue", entity_id=rogue_idp.entity_id, signing_certificates=rogue_idp.certificate_pem)
    error = rejected(acme_idp.assertion(issuer=rogue_idp.entity_id))  # signed by acme, claims to be rogue
    assert error.rule == 9


def test_rejects_assertion_from_a_disabled_idp(acme_idp):
    TrustedIdentityProvider.objects.filter(pk=acme_idp.model.pk).update(enabled=False)
    assert rejected(acme_idp.assertion()).rule == 1


# --- rule 9: signature -------------------------------------------------------------------------------
def test_rejects_unsigned_assertion(acme_idp):
    error = rejected(acme_idp.assertion(signed=False))
    assert error.rule == 9 and "not signed" in error.reason


def test_rejects_assertion_signed_by_an_unknown_key(acme_idp, rogue_idp):
    error = rejected(acme_idp.assertion(key=rogue_idp))  # rogue embeds its own certificate in KeyInfo
    assert error.rule == 9 and "signature is not valid" in error.reason


def test_rejects_assertion_signed_with_sha1(acme_idp):
    error = rejected(acme_idp.assertion(sign_alg=ds.SIG_RSA_SHA1, digest_alg=ds.DIGEST_SHA1))
    assert error.rule == 9 and "SHA-256" in error.reason


def test_rejects_assertion_altered_after_signing(acme_idp):
    xml = acme_idp.assertion(name_id="bob").replace(b">bob<", b">alice<")
    assert rejected(xml).rule == 9


# --- rule 2: Audience ----------------------------------------------------------------------------------
def test_rejects_assertion_for_another_audience(acme_idp):
    assert rejected(acme_idp.assertion(audience="https://other-sp.example")).rule == 2


def test_rejects_assertion_without_audience(acme_idp):
    assert rejected(acme_idp.assertion(audience=None)).rule == 2


# --- rules 5 and 6: bearer SubjectConfirmation ---------------------------------------------------------
def test_rejects_assertion_for_another_recipient(acme_idp):
    error = rejected(acme_idp.assertion(recipient="https://other-sp.example/token"))
    assert error.rule == 5 and "Recipient" in error.reason


def test_rejects_assertion_without_recipient(acme_idp):
    assert rejected(acme_idp.assertion(recipient=None)).rule == 5


def test_rejects_assertion_without_bearer_confirmation(acme_idp):
    error = rejected(acme_idp.assertion(method=saml.SCM_HOLDER_OF_KEY))
    assert error.rule == 5 and "bearer" in error.reason


def test_rejects_assertion_without_any_subject_confirmation(acme_idp):
    assert rejected(acme_idp.assertion(confirmation=False)).rule == 5


def test_rejects_confirmation_without_not_on_or_after(acme_idp):
    assert rejected(acme_idp.assertion(confirmation_not_on_or_after=None)).rule == 5


def test_rejects_expired_subject_confirmation(acme_idp):
    error = rejected(acme_idp.assertion(confirmation_not_on_or_after=now() - timedelta(minutes=5)))
    assert error.rule == 6 and "SubjectConfirmationData has expired" in error.reason


# --- rules 6 and 11: Conditions ---------------------------------------------------------------------------
def test_rejects_expired_assertion(acme_idp):
    error = rejected(acme_idp.assertion(not_on_or_after=now() - timedelta(minutes=2)))
    assert error.rule == 6 and "expired" in error.reason


def test_rejects_assertion_not_yet_valid(acme_idp):
    error = rejected(acme_idp.assertion(not_before=now() + timedelta(minutes=5)))
    assert error.rule == 11 and "not yet valid" in error.reason


def test_clock_skew_is_configurable(acme_idp):
    xml = acme_idp.assertion(not_before=now() + timedelta(seconds=30))
    assert rejected(xml, clock_skew=0).rule == 11


def test_rejects_assertion_issued_in_the_future(acme_idp):
    assert rejected(acme_idp.assertion(issue_instant=now() + timedelta(minutes=10))).rule == 11


def test_rejects_unknown_condition_types(acme_idp):
    def add_condition(statement):
        condition = saml.OneTimeUse()
        condition.c_tag = "DelegationRestriction"  # a condition this server does not implement
        statement.conditions.extension_elements = [element_to_extension_element(condition)]

    error = rejected(acme_idp.assertion(mutate=add_condition))
    assert error.rule == 11 and "condition type" in error.reason


# --- rule 3: Subject -> user ------------------------------------------------------------------------------
def test_rejects_unknown_user_without_auto_provisioning(acme_idp, alice):
    verified = validate(acme_idp.assertion(name_id="mallory"))
    with pytest.raises(AssertionRejected, match="not a known user"):
        resolve_user(verified)
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_unknown_user_with_auto_provisioning_is_created(acme_idp):
    acme_idp.model.auto_provision = True
    acme_idp.model.email_attribute = "mail"
    acme_idp.model.save()
    verified = validate(acme_idp.assertion(name_id="carol", attributes={"mail": "carol@acme.test"}))
    user = resolve_user(verified)
    assert (user.username, user.email, user.has_usable_password()) == ("carol", "carol@acme.test", False)
    assert resolve_user(validate(acme_idp.assertion(name_id="carol"))) == user


def test_rejects_inactive_user(acme_idp, alice):
    alice.is_active = False
    alice.save()
    with pytest.raises(AssertionRejected, match="disabled"):
        resolve_user(validate(acme_idp.assertion()))


def test_username_may_come_from_an_attribute(acme_idp, alice):
    acme_idp.model.username_source = "attribute"
    acme_idp.model.username_attribute = "uid"
    acme_idp.model.save()
    verified = validate(acme_idp.assertion(name_id="opaque-7d1f", attributes={"uid": "alice"}))
    assert resolve_user(verified) == alice


def test_rejects_username_attribute_with_several_values(acme_idp, alice):
    acme_idp.model.username_source = "attribute"
    acme_idp.model.username_attribute = "uid"
    acme_idp.model.save()
    with pytest.raises(AssertionRejected, match="several values"):
        resolve_user(validate(acme_idp.assertion(attributes={"uid": ["alice", "bob"]})))


def test_rejects_transient_name_id_as_username(acme_idp, alice):
    verified = validate(acme_idp.assertion(name_id_format=saml.NAMEID_FORMAT_TRANSIENT))
    with pytest.raises(AssertionRejected, match="transient"):
        resolve_user(verified)


def test_auto_provisioning_refuses_an_invalid_username(acme_idp):
    acme_idp.model.auto_provision = True
    acme_idp.model.save()
    with pytest.raises(AssertionRejected, match="not a valid username"):
        resolve_user(validate(acme_idp.assertion(name_id="no spaces/or slashes allowed")))


# --- rule 6: replay -----------------------------------------------------------------------------------------
def test_rejects_replayed_assertion_id(acme_idp):
    xml = acme_idp.assertion()
    consume_assertion_id(validate(xml))
    with pytest.raises(AssertionRejected) as caught:
        consume_assertion_id(validate(xml))
    assert caught.value.rule == 6 and "already used" in caught.value.reason


def test_replay_is_refused_even_with_a_freshly_signed_copy_of_the_id(acme_idp):
    consume_assertion_id(validate(acme_idp.assertion(assertion_id="_same")))
    with pytest.raises(AssertionRejected, match="already used"):
        consume_assertion_id(validate(acme_idp.assertion(assertion_id="_same", name_id="bob")))


def test_used_id_is_kept_until_the_assertion_could_no_longer_be_accepted(acme_idp):
    verified = validate(acme_idp.assertion())
    consume_assertion_id(verified)
    stored = UsedAssertion.objects.get()
    assert stored.expires_at == verified.replay_until
    assert stored.assertion_id == assertions.replay_key(acme_idp.entity_id, verified.assertion_id)
    assert verified.assertion_id not in stored.assertion_id


def test_purge_forgets_only_expired_ids(acme_idp):
    consume_assertion_id(validate(acme_idp.assertion()))
    assert used_assertions_purge() == 0
    assert used_assertions_purge(now=now() + timedelta(hours=1)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_let_exactly_one_through(acme_idp):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so it proves nothing about concurrency")
    verified = validate(acme_idp.assertion())
    barrier, outcomes = threading.Barrier(10), []

    def attempt():
        try:
            barrier.wait()
            consume_assertion_id(verified)
            outcomes.append("accepted")
        except AssertionRejected:
            outcomes.append("replay")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted"] + ["replay"] * 9
    assert UsedAssertion.objects.count() == 1


# --- XML signature wrapping ------------------------------------------------------------------------------------
def test_rejects_a_second_unsigned_assertion_beside_the_signed_one(acme_idp, alice, bob):
    evil = body(acme_idp.assertion(name_id="bob", signed=False))
    signed = body(acme_idp.assertion())
    xml = f'<wrap:Envelope xmlns:wrap="urn:test:wrapper">{evil}{signed}</wrap:Envelope>'.encode()
    assert "single SAML 2.0 Assertion" in rejected(xml).reason


def test_rejects_signed_assertion_wrapped_in_the_advice_of_an_unsigned_one(acme_idp, alice, bob):
    evil = body(acme_idp.assertion(name_id="bob", signed=False))
    signed = body(acme_idp.assertion())
    xml = evil.replace("<ns0:AuthnStatement", f"<ns0:Advice>{signed}</ns0:Advice><ns0:AuthnStatement", 1)
    assert "exactly one Assertion" in rejected(xml.encode()).reason


def test_rejects_evil_assertion_carrying_the_signature_with_the_signed_one_in_its_object(acme_idp, alice, bob):
    signed = body(acme_idp.assertion())
    signature = re.search(r"<ns1:Signature>.*</ns1:Signature>", signed, re.S).group(0)
    evil = body(acme_idp.assertion(name_id="bob", signed=False))
    moved = signature.replace("</ns1:Signature>", f"<ns1:Object>{signed}</ns1:Object></ns1:Signature>")
    xml = evil.replace("<ns0:Subject>", f"{moved}<ns0:Subject>", 1).replace(">", f" {DS_NS}>", 1)
    assert "exactly one Assertion" in rejected(xml.encode()).reason


def test_rejects_evil_assertion_reusing_the_signed_id_with_the_original_in_an_extension(acme_idp, alice, bob):
    signed_xml = acme_idp.assertion()
    assertion_id = re.search(rb'ID="([^"]+)"', signed_xml).group(1).decode()
    evil = body(acme_idp.assertion(name_id="bob", signed=False, assertion_id=assertion_id))
    signed = body(signed_xml)
    signature = re.search(r"<ns1:Signature>.*</ns1:Signature>", signed, re.S).group(0)
    xml = (evil.replace("<ns0:Subject>", f"{signature}<ns0:Subject>", 1).replace(">", f" {DS_NS}>", 1)
           .replace("<ns0:AuthnStatement", f'<ext:Extensions xmlns:ext="urn:test">{signed}</ext:Extensions>'
                    "<ns0:AuthnStatement", 1))
    assert "exactly one Assertion" in rejected(xml.encode()).reason


def test_rejects_a_second_element_carrying_the_assertion_id(acme_idp):
    def duplicate_id(statement):
        statement.attribute_statement[0].attribute[0].attribute_value[0].extension_attributes = {"ID": statement.id}

    error = rejected(acme_idp.assertion(attributes={"uid": "alice"}, mutate=duplicate_id))
    assert "ID is not unique" in error.reason


def test_rejects_signature_referring_to_another_id(acme_idp):
    xml = re.sub(rb'URI="#[^"]+"', b'URI="#someone-else"', acme_idp.assertion())
    assert "refer to the Assertion" in rejected(xml).reason


def test_rejects_signature_over_the_whole_document(acme_idp):
    xml = re.sub(rb'URI="#[^"]+"', b'URI=""', acme_idp.assertion())
    assert "refer to the Assertion" in rejected(xml).reason


def test_rejects_a_second_signature(acme_idp):
    signed = body(acme_idp.assertion())
    signature = re.search(r"<ns1:Signature>.*</ns1:Signature>", signed, re.S).group(0)
    xml = signed.replace("<ns0:Subject>", f"<ns0:Subject>{signature}", 1)
    assert rejected(xml.encode()).rule == 9


def test_rejects_signed_assertion_inside_a_response(acme_idp):
    signed = body(acme_idp.assertion())
    xml = f'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">{signed}</samlp:Response>'
    assert "single SAML 2.0 Assertion" in rejected(xml.encode()).reason


# --- XML hardening -----------------------------------------------------------------------------------------------
def test_rejects_comment_injected_into_name_id(acme_idp, alice):
    # CVE-2017-11427: exclusive c14n drops comments, so the signature still verifies; the text must not truncate.
    xml = acme_idp.assertion(name_id="alice.evil.test").replace(b">alice.evil.test<", b">alice<!---->.evil.test<")
    assert registry.security_context(acme_idp.model).correctly_signed_message(xml, "assertion", must=True)
    assert "comments" in rejected(xml).reason


def test_cdata_in_name_id_does_not_truncate_it(acme_idp, alice):
    xml = acme_idp.assertion(name_id="alice.evil.test").replace(b">alice.evil.test<",
                                                                b">alice<![CDATA[]]>.evil.test<")
    assert validate(xml).name_id == "alice.evil.test"


def test_rejects_processing_instruction(acme_idp):
    xml = acme_idp.assertion().replace(b"<ns0:Subject>", b"<?evil instruction?><ns0:Subject>", 1)
    assert "processing instructions" in rejected(xml).reason


def test_rejects_xxe_payload(acme_idp):
    signed = body(acme_idp.assertion(name_id="placeholder")).replace(">placeholder<", ">&xxe;<")
    xml = f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{signed}'
    assert "DTD" in rejected(xml.encode()).reason


def test_rejects_external_dtd(acme_idp):
    xml = f'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd">{body(acme_idp.assertion())}'
    assert "DTD" in rejected(xml.encode()).reason


def test_rejects_billion_laughs_payload(acme_idp):
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    signed = body(acme_idp.assertion(name_id="placeholder")).replace(">placeholder<", ">&lol9;<")
    xml = f'<?xml version="1.0"?><!DOCTYPE a [{entities}]>{signed}'
    assert "DTD" in rejected(xml.encode()).reason


def test_rejects_oversized_assertion_before_parsing(acme_idp, settings):
    xml = acme_idp.assertion(attributes={"padding": "x" * 70_000})
    assert "too large" in rejected(xml).reason
    settings.SAML_MAX_ASSERTION_BYTES = 1024
    assert "too large" in rejected(acme_idp.assertion()).reason


def test_rejects_non_utf8_encodings(acme_idp):
    text = body(acme_idp.assertion())
    assert rejected(text.encode("utf-16")).reason
    assert rejected(f'<?xml version="1.0" encoding="ISO-8859-1"?>{text}'.encode()).reason


@pytest.mark.parametrize("junk", [
    b"", b"<", b"not xml at all", b"\xff\xfe\x00<", b"<a/>", b"<a><b></a>",
    b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>',
    b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0"/>',
    b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1"><ds:Signature '
    b'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></saml:Assertion>',
    b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="bad id"/>',
    None, "a str, not bytes",
])
def test_junk_is_only_ever_rejected(junk):
    rejected(junk)


def test_junk_signed_by_a_trusted_idp_is_still_only_rejected(acme_idp):
    for mutate in (lambda a: setattr(a, "subject", None), lambda a: setattr(a, "conditions", None),
                   lambda a: setattr(a, "version", "1.1"), lambda a: setattr(a.subject, "name_id", None)):
        rejected(acme_idp.assertion(mutate=mutate))


# --- the grant's parameter (RFC 7522 §2.1) ---------------------------------------------------------------------
def test_decodes_base64url_with_or_without_padding(acme_idp):
    encoded = acme_idp.encoded()
    padded = encoded + "=" * (-len(encoded) % 4)
    assert decode_assertion_param(encoded) == decode_assertion_param(padded)
    assert validate(decode_assertion_param(encoded)).name_id == "alice"


@pytest.mark.parametrize("garbage", ["", "!!!!", "abc+def/", "a", "abcde", "ab==c", "a" * 200_000, None, "Zm9v==="])
def test_rejects_garbage_base64(garbage):
    with pytest.raises(AssertionRejected) as caught:
        decode_assertion_param(garbage)
    assert ERROR_DESCRIPTION.fullmatch(caught.value.reason)


# --- which clients may present an IdP's assertions ------------------------------------------------------------------
def test_idp_without_allowed_clients_allows_any_client(acme_idp, backup_service):
    assert acme_idp.model.allows_client(backup_service.model)


def test_idp_with_allowed_clients_refuses_others(acme_idp, backup_service, photo_printer):
    acme_idp.model.allowed_clients.set([photo_printer.model])
    assert acme_idp.model.allows_client(photo_printer.model)
    assert not acme_idp.model.allows_client(backup_service.model)
