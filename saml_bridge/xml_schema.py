"""XML-schema validation of SAML messages for pysaml2, by libxml2 (lxml) instead of the xmlschema package.

Before it checks a signature, pysaml2 validates the signed element against the SAML 2.0 protocol
schema and the schemas it imports (assertion, xmldsig, xenc), with the pure-Python `xmlschema` package:
1.4 ms per assertion, the largest single cost of a SAML-bearer token request (bench/README.md).
`validate` checks the same document against the same XSD files (every schema pysaml2 loads, from the
files it ships) with libxml2's validator (the one python3-saml uses for SAML too): ~30 µs. A differential test
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

# The schemas pysaml2's own validator loads (saml2.xml.schema: its `locations`), by namespace; libxml2 would
# otherwise load only what the protocol schema imports, and skip (lax) or refuse (xsi:type) the others.
SCHEMA_FILES = {
    "http://www.w3.org/XML/1998/namespace": "xml.xsd",
    "http://schemas.xmlsoap.org/soap/envelope/": "envelope.xsd",
    "http://www.w3.org/2001/04/xmlenc#": "xenc-schema.xsd",
    "http://www.w3.org/2009/xmlenc11#": "xenc-schema-11.xsd",
    "http://www.w3.org/2000/09/xmldsig#": "xmldsig-core-schema.xsd",
    "urn:oasis:names:tc:SAML:2.0:assertion": "saml-schema-assertion-2.0.xsd",
    "urn:oasis:names:tc:SAML:2.0:metadata": "saml-schema-metadata-2.0.xsd",
    "urn:oasis:names:tc:SAML:2.0:protocol": "saml-schema-protocol-2.0.xsd",
    "http://eidas.europa.eu/metadata/servicelist": "eidas-schema-metadata-servicelist.xsd",
    "http://eidas.europa.eu/saml-extensions": "eidas-schema-saml-extensions.xsd",
    "http://eidas.europa.eu/attributes/naturalperson": "eidas-schema-attribute-naturalperson.xsd",
    "http://eidas.europa.eu/attributes/legalperson": "eidas-schema-attribute-legalperson.xsd",
}
INVALID = "the document does not match the SAML 2.0 schemas"


def _schema_path(name):
    return files(saml2.data.schemas).joinpath(name)


class _PysamlSchemaFiles(etree.Resolver):
    """Imported schemas (by relative name or by their w3.org URL) from pysaml2's schema directory, or nothing."""

    def resolve(self, url, public_id, context):
        path = _schema_path(url.rsplit("/", 1)[-1])
        return self.resolve_filename(str(path), context) if path.is_file() else None


@functools.cache
def _schema():
    """One schema importing every namespace of SCHEMA_FILES (the documents' root may be any of their elements)."""
    imports = "".join(f'<xs:import namespace="{namespace}" schemaLocation="{name}"/>'
                      for namespace, name in SCHEMA_FILES.items())
    parser = etree.XMLParser(no_network=True)  # the xmldsig schema's own DTD entities are needed, and trusted
    parser.resolvers.add(_PysamlSchemaFiles())
    wrapper = etree.fromstring(f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>',
                               parser, base_url=str(_schema_path("all-namespaces.xsd")))  # a name of its own
    return etree.XMLSchema(wrapper)


_DOCUMENT_PARSER = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


def validate(doc):
    """pysaml2's `saml2.xml.schema.validate(doc)`: None if `doc` (an XML string) is valid, else XMLSchemaError."""
    # The reason stays generic: the schema's error log is shared by the threads that validate with it.
    try:
        valid = _schema().validate(etree.fromstring(doc.encode() if isinstance(doc, str) else doc, _DOCUMENT_PARSER))
    except Exception:  # not well-formed; an entity left unexpanded (libxml2 cannot validate it); anything else
        valid = False
    if not valid:
        raise XMLSchemaError({"doc": doc, "error": INVALID})


def install():
    """Make pysaml2's signature check validate with `validate`."""
    _schema()  # load (and fail, if it must) now rather than on the first assertion
    saml2.sigver.validate_doc_with_schema = validate
