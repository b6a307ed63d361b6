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
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
EIDAS = "http://eidas.europa.eu/attributes/naturalperson"


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


def _add_date_of_birth(value):
    """An AttributeStatement whose value is typed (xsi:type) by the eIDAS natural-person schema."""
    def change(root):
        statement = etree.SubElement(root, f"{{{SAML}}}AttributeStatement")
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name="DateOfBirth")
        typed = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue", nsmap={"eidas": EIDAS, "xsi": XSI})
        typed.set(f"{{{XSI}}}type", "eidas:DateOfBirthType")
        typed.text = value
    return change


def _add_advice(*elements):
    """<Advice> (after <Conditions>), whose content from other namespaces is validated when its schema is known."""
    def change(root):
        advice = etree.Element(f"{{{SAML}}}Advice")
        advice.extend(elements)
        root.insert(list(root).index(_child(root, "Conditions")) + 1, advice)
    return change


def _assertion_id_ref():
    ref = etree.Element(f"{{{SAML}}}AssertionIDRef")
    ref.text = "another-assertion"
    return ref


VALID = {
    "an eIDAS-typed attribute value": _add_date_of_birth("1990-01-31"),
    "Advice naming another assertion": _add_advice(_assertion_id_ref()),
}

BROKEN = {
    "an eIDAS-typed attribute value of the wrong form": _add_date_of_birth("31/01/1990"),
    "Advice holding metadata without its required entityID": _add_advice(etree.Element(f"{{{MD}}}EntityDescriptor")),
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


@pytest.mark.parametrize("addition", sorted(VALID))
def test_a_valid_addition_is_valid_for_both(signed_assertion, addition):
    changed = _edit(signed_assertion, VALID[addition])
    assert _verdict(pysaml2_validate, changed) == _verdict(xml_schema.validate, changed) == "valid"


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_assertion_is_invalid_for_both(signed_assertion, breakage):
    broken = _edit(signed_assertion, BROKEN[breakage])
    assert _verdict(pysaml2_validate, broken) == "invalid"  # the mutation really breaks the schema
    assert _verdict(xml_schema.validate, broken) == "invalid"


def test_not_well_formed_is_invalid(signed_assertion):
    assert _verdict(xml_schema.validate, signed_assertion[:-20]) == "invalid"


def test_entities_are_not_expanded(signed_assertion):
    # Valid once &issuer; is expanded; left unexpanded (as it must be), the document is refused.
    issuer = etree.fromstring(signed_assertion.encode()).findtext(f"{{{SAML}}}Issuer")
    with_entity = signed_assertion.replace(f">{issuer}<", ">&issuer;<", 1)
    doctype = f'<!DOCTYPE a [<!ENTITY issuer "{issuer}">]>'
    assert "&issuer;" in with_entity
    assert _verdict(xml_schema.validate, doctype + with_entity) == "invalid"
    assert _verdict(xml_schema.validate, signed_assertion) == "valid"


def test_the_same_schemas_as_pysaml2_are_loaded():
    from pathlib import Path

    from saml2.xml.schema import _schema_validator_default as pysaml2_schemas

    pysaml2_files = {schema.target_namespace: Path(schema.url).name for schema in pysaml2_schemas.maps.iter_schemas()
                     if "/saml2/data/schemas/" in schema.url}
    # The xml: namespace (xml:lang) pysaml2 names too; xmlschema answers it with a built-in copy of the file.
    assert xml_schema.SCHEMA_FILES == {**pysaml2_files, "http://www.w3.org/XML/1998/namespace": "xml.xsd"}


def test_pysaml2_signature_checks_use_it():
    assert saml2.sigver.validate_doc_with_schema is xml_schema.validate
