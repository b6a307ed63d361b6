"""Checking XML signatures for pysaml2: libxmlsec1 in the server process instead of a child process.

pysaml2's xmlsec1 backend writes the document to a temporary file and runs the xmlsec1 program for every
signature check, after running `xmlsec1 --version` twice: ~30 ms of CPU per SAML-bearer token request
(bench/README.md). `InProcessXmlSec` asks the same library, libxmlsec1, through python-xmlsec, with the
options pysaml2 gives the program:

    xmlsec1 --verify --pubkey-cert-pem CERT --id-attr:ID NODE_NAME --node-id NODE_ID
            --enabled-key-data raw-x509-cert --enabled-reference-uris empty,same-doc

- `--pubkey-cert-pem`: the key is the public key of the certificate pysaml2 took from the IdP's stored
  metadata; with a key given, libxmlsec1 reads no key from the document's KeyInfo.
- `--id-attr:ID NODE_NAME`: the ID attribute is registered on NODE_NAME elements only.
- `--node-id`: the first Signature found from the element with that ID is the one verified.
- `--enabled-reference-uris empty,same-doc`: python-xmlsec cannot set this, so the Reference URI is
  checked here to be "#" + an ID (saml_bridge.assertions has already required it to be the Assertion's).

Without python-xmlsec (or when it cannot load), `XmlSec1Program` runs the program as pysaml2 does, asking
its version once. Signing (only the test IdP signs) is left to the program in both.
"""

import functools
import logging

from saml2.sigver import CryptoBackendXmlSec1, SignatureError

logger = logging.getLogger(__name__)

try:
    import xmlsec
    from lxml import etree
except Exception as error:  # ImportError, or python-xmlsec's libxml2 version mismatch with lxml's
    xmlsec = None
    IMPORT_ERROR = f"{type(error).__name__}: {error}"
else:
    IMPORT_ERROR = ""

DSIG = "http://www.w3.org/2000/09/xmldsig#"


class XmlSec1Program(CryptoBackendXmlSec1):
    """pysaml2's xmlsec1 backend, asking `xmlsec1 --version` once instead of before every signature check."""

    @functools.cached_property
    def version(self):
        return super().version


class InProcessXmlSec(XmlSec1Program):
    """pysaml2's xmlsec1 backend with signature verification done by libxmlsec1 in-process."""

    def validate_signature(self, signedtext, cert_file, cert_type, node_name, node_id):
        if cert_type != "pem":
            raise SignatureError(f"unsupported certificate type {cert_type!r}")
        if isinstance(signedtext, str):
            signedtext = signedtext.encode("utf-8")
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            root = etree.fromstring(signedtext, parser)
        except etree.XMLSyntaxError as error:
            raise SignatureError("not well-formed XML") from error
        try:
            context = xmlsec.SignatureContext()
            start = _register_ids(context, root, node_name, node_id)
            signature = xmlsec.tree.find_node(start, xmlsec.constants.NodeSignature, DSIG)
            if signature is None:
                raise SignatureError("no Signature element")
            _check_same_document_references(signature)
            context.key = xmlsec.Key.from_file(cert_file, xmlsec.constants.KeyDataFormatCertPem)
            context.verify(signature)
        except xmlsec.Error as error:  # VerificationError is one; its message names no secret
            raise SignatureError(f"signature verification failed: {error}") from error
        return True


def _register_ids(context, root, node_name, node_id):
    """Register ID on NODE_NAME elements (--id-attr:ID); return where to look for the Signature (--node-id)."""
    namespace, _, local = node_name.rpartition(":")
    start = None if node_id else root
    for element in root.iter(f"{{{namespace}}}{local}"):
        context.register_id(element, "ID")  # a duplicate ID fails here, as it does in the program
        if node_id and element.get("ID") == node_id:
            start = element
    if start is None:
        raise SignatureError(f"no {local} element with the ID to verify")
    return start


def _check_same_document_references(signature):
    # --enabled-reference-uris empty,same-doc
    for reference in signature.iterfind(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference"):
        uri = reference.get("URI")
        if uri is None or (uri and not uri.startswith("#")):
            raise SignatureError("only same-document references are accepted")


def crypto_backend(xmlsec_binary):
    """The backend our SecurityContexts check signatures with."""
    if xmlsec is None:
        return XmlSec1Program(xmlsec_binary, delete_tmpfiles=True)
    return InProcessXmlSec(xmlsec_binary, delete_tmpfiles=True)
