"""XML-schema validation of SAML messages for pysaml2, by libxml2 (lxml) instead of the xmlschema package.

Before it checks a signature, pysaml2 validates the signed element against the SAML 2.0 protocol
schema and the schemas it imports (assertion, xmldsig, xenc), with the pure-Python `xmlschema` package:
1.4 ms per assertion, the largest single cost of a SAML-bearer token request (bench/README.md).
`validate` checks the same document against the same XSD files, those pysaml2 ships, with libxml2's
validator (the one python3-saml uses for SAML too): ~30 µs. A differential test
(tests/unit/test_saml_schema.py) runs both on valid and broken assertions and expects the same verdicts.

`install()`, called by SamlBridgeConfig.ready(), puts `validate` where pysaml2's signature check calls it
(`saml2.sigver.validate_doc_with_schema`).

Both parsers are closed to the outside: the schemas load only from pysaml2's own files (a resolver maps
each imported schema to its file by name; no network), and the documents are parsed without entity
expansion, DTD loading or network access.
"""

import functools
from importlib.resources import files

import saml2.data.schemas
import saml2.sigver
from lxml import etree
from saml2.xml.schema import XMLSchemaError

PROTOCOL_SCHEMA = "saml-schema-protocol-2.0.xsd"


class _PysamlSchemaFiles(etree.Resolver):
    """Imported schemas (by relative name or by their w3.org URL) from pysaml2's schema directory, or nothing."""

    def resolve(self, url, public_id, context):
        path = files(saml2.data.schemas).joinpath(url.rsplit("/", 1)[-1])
        return self.resolve_filename(str(path), context) if path.is_file() else None


@functools.cache
def _schema():
    parser = etree.XMLParser(no_network=True)  # the xmldsig schema's own DTD entities are needed, and trusted
    parser.resolvers.add(_PysamlSchemaFiles())
    return etree.XMLSchema(etree.parse(str(files(saml2.data.schemas).joinpath(PROTOCOL_SCHEMA)), parser))


_DOCUMENT_PARSER = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


def validate(doc):
    """pysaml2's `saml2.xml.schema.validate(doc)`: None if `doc` (an XML string) is valid, else XMLSchemaError."""
    schema = _schema()
    try:
        valid = schema.validate(etree.fromstring(doc.encode() if isinstance(doc, str) else doc, _DOCUMENT_PARSER))
    except etree.LxmlError as error:  # not well-formed; or an entity left unexpanded, which libxml2 cannot validate
        raise XMLSchemaError({"doc": doc, "error": str(error)}) from None
    if not valid:
        raise XMLSchemaError({"doc": doc, "error": str(schema.error_log.last_error)})


def install():
    """Make pysaml2's signature check validate with `validate`."""
    _schema()  # load (and fail, if it must) now rather than on the first assertion
    saml2.sigver.validate_doc_with_schema = validate
