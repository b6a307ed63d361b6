"""SAML schema validation by libxml2 (saml_bridge/xml_schema.py) gives pysaml2's own verdicts (xmlschema)."""

import base64

import pytest
import saml2.sigver
from lxml import etree
from saml2 import saml
from saml2.xml.schema import XMLSchemaError
from saml2.xml.schema import validate as pysaml2_validate

from saml_bridge import xml_schema

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def signed_assertion(_acme_signer):
    """What pysaml2 validates before checking a signature: its re-serialisation of the parsed Assertion."""
    xml = base64.urlsafe_b64decode(_acme_signer.encoded() + "==").decode()
    return str(saml.assertion_from_string(xml))


def _edit(xml, change):
    root = etree.fromstring(xml.encode())
    change(root)
    return etree.tostring(root).decode()


def _child(root, name, ns=SAML):
    return root.find(f"{{{ns}}}{name}")


def _move_issuer_last(root):
    root.append(_child(root, "Issuer"))


def _duplicate_issuer(root):
    root.insert(0, etree.fromstring(etree.tostring(_child(root, "Issuer"))))


def _drop_signed_info(root):
    signature = _child(root, "Signature", DS)
    signature.remove(_child(signature, "SignedInfo", DS))


BROKEN = {
    "no ID": lambda root: root.attrib.pop("ID"),
    "no Version": lambda root: root.attrib.pop("Version"),
    "IssueInstant not a dateTime": lambda root: root.set("IssueInstant", "yesterday"),
    "an attribute the schema does not declare": lambda root: root.set("Admin", "true"),
    "an element the schema does not declare": lambda root: root.insert(1, etree.Element(f"{{{SAML}}}Admin")),
    "Issuer out of order": _move_issuer_last,
    "two Issuers": _duplicate_issuer,
    "Signature without SignedInfo": _drop_signed_info,
    "Conditions NotBefore not a dateTime": lambda root: _child(root, "Conditions").set("NotBefore", "soon"),
    "SubjectConfirmation without its Method": lambda root: _child(_child(root, "Subject"), "SubjectConfirmation").attrib.pop("Method"),
}


def _verdict(validate, xml):
    try:
        validate(xml)
    except XMLSchemaError:
        return "invalid"
    return "valid"


def test_a_signed_assertion_is_valid_for_both(signed_assertion):
    assert _verdict(pysaml2_validate, signed_assertion) == _verdict(xml_schema.validate, signed_assertion) == "valid"


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_assertion_is_invalid_for_both(signed_assertion, breakage):
    broken = _edit(signed_assertion, BROKEN[breakage])
    assert _verdict(pysaml2_validate, broken) == "invalid"  # the mutation really breaks the schema
    assert _verdict(xml_schema.validate, broken) == "invalid"


def test_not_well_formed_is_invalid(signed_assertion):
    assert _verdict(xml_schema.validate, signed_assertion[:-20]) == "invalid"


def test_entities_are_not_expanded():
    bomb = ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]>'
            f'<saml:Assertion xmlns:saml="{SAML}">&y;</saml:Assertion>')
    assert _verdict(xml_schema.validate, bomb) == "invalid"


def test_pysaml2_signature_checks_use_it():
    assert saml2.sigver.validate_doc_with_schema is xml_schema.validate
