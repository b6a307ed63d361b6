"""SAML signature checks in-process (python-xmlsec) answer exactly as the xmlsec1 program does.

saml_bridge/xml_signatures.py replaced pysaml2's child process by libxmlsec1 in the server process; each
document below goes to both backends with the options pysaml2 uses, and both must agree.
"""

import re

import pytest
from saml2.sigver import NODE_NAME, SignatureError

from saml_bridge import registry, xml_signatures

pytestmark = pytest.mark.skipif(xml_signatures.xmlsec is None, reason="python-xmlsec is not installed")


def verdict(backend, xml, cert_file, node_id):
    try:
        return backend.validate_signature(xml, cert_file=cert_file, cert_type="pem", node_name=NODE_NAME,
                                          node_id=node_id)
    except SignatureError:
        return False


def both(xml, cert_file, node_id):
    """(in-process, program) verdicts for one document."""
    program = xml_signatures.XmlSec1Program(registry.xmlsec_binary())
    in_process = xml_signatures.InProcessXmlSec(registry.xmlsec_binary())
    return verdict(in_process, xml, cert_file, node_id), verdict(program, xml, cert_file, node_id)


def test_security_contexts_check_signatures_in_process(acme_idp):
    assert isinstance(registry.security_context(acme_idp.model).crypto, xml_signatures.InProcessXmlSec)


def test_a_valid_signature_passes_in_both(acme_idp):
    assert both(acme_idp.assertion(assertion_id="_ok"), acme_idp.cert_file, "_ok") == (True, True)


def test_a_changed_name_id_fails_in_both(acme_idp):
    xml = acme_idp.assertion(assertion_id="_t", name_id="alice").replace(b">alice<", b">bob<")
    assert both(xml, acme_idp.cert_file, "_t") == (False, False)


def test_another_key_fails_in_both_even_with_its_certificate_in_key_info(acme_idp, rogue_idp):
    xml = acme_idp.assertion(assertion_id="_r", key=rogue_idp)  # signed by rogue, its certificate embedded
    assert both(xml, acme_idp.cert_file, "_r") == (False, False)


def test_an_unknown_node_id_fails_in_both(acme_idp):
    assert both(acme_idp.assertion(assertion_id="_a"), acme_idp.cert_file, "_other") == (False, False)


def test_a_reference_outside_the_document_is_refused_in_process(acme_idp, tmp_path):
    outside = tmp_path / "outside.xml"
    outside.write_text("<x/>")
    xml = re.sub(rb'URI="#_f"', f'URI="file://{outside}"'.encode(), acme_idp.assertion(assertion_id="_f"))
    assert both(xml, acme_idp.cert_file, "_f") == (False, False)
