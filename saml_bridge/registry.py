"""Who we are to SAML, and whom we trust: our SP identity and metadata, trusted IdPs and pysaml2 set-up.

- Our entity ID (``SAML_ENTITY_ID``, default ``OAUTH_ISSUER``) and the token endpoint URL are the two
  values an assertion's Audience may carry, and the token endpoint URL is the only Recipient we accept
  (RFC 7522 §3, rules 2 and 5).
- IdP metadata (SAML 2.0 Metadata §2.3-2.4) is read with defusedxml: no DTD, no entities.
- pysaml2 is imported only here and in assertions.py. Signatures are checked by pysaml2's
  SecurityContext with the xmlsec1 backend, given metadata that we build from the certificates stored
  for the one IdP named by the assertion's Issuer, never from keys found in the assertion itself.
"""

import functools
import os
import shutil
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from saml2 import BINDING_HTTP_POST, md, samlp
from saml2 import xmldsig as ds
from saml2.config import SPConfig
from saml2.extension import algsupport
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_UNSPECIFIED
from saml2.sigver import security_context as pysaml2_security_context

from . import certificates, xml_signatures
from .models import TrustedIdentityProvider

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
METADATA_MAX_BYTES = 16 * 1024 * 1024

# The algorithms assertions.py accepts; published in our metadata (SAML v2.0 Metadata Profile for
# Algorithm Support) so an IdP admin knows SHA-1 will be refused.
DIGEST_ALGORITHMS = (ds.DIGEST_SHA256, ds.DIGEST_SHA384, ds.DIGEST_SHA512)
SIGNATURE_ALGORITHMS = (
    ds.SIG_RSA_SHA256, ds.SIG_RSA_SHA384, ds.SIG_RSA_SHA512,
    ds.SIG_ECDSA_SHA256, ds.SIG_ECDSA_SHA384, ds.SIG_ECDSA_SHA512,
)


# --- our identity ------------------------------------------------------------------------------
def sp_entity_id():
    """Our SAML entity ID: SAML_ENTITY_ID, or OAUTH_ISSUER when that is empty."""
    return getattr(settings, "SAML_ENTITY_ID", "") or settings.OAUTH_ISSUER


def token_endpoint_url():
    """Where assertions are delivered: the only Recipient we accept (RFC 7522 §3, rule 5)."""
    return settings.OAUTH_ISSUER + reverse("oauth:token")


def sp_audiences():
    """The Audience values that name us (RFC 7522 §3, rule 2): our entity ID or the token endpoint URL."""
    return [sp_entity_id(), token_endpoint_url()]


def xmlsec_binary():
    """The xmlsec1 program pysaml2 runs, or '' when there is none."""
    configured = getattr(settings, "XMLSEC_BINARY", "")
    if configured:
        return configured if os.access(configured, os.X_OK) else ""
    return shutil.which("xmlsec1") or ""


# --- trusted identity providers ---------------------------------------------------------------
def find_enabled_idp(entity_id):
    """The enabled trusted IdP whose entity ID is exactly `entity_id`, or None."""
    if not entity_id:
        return None
    return TrustedIdentityProvider.objects.enabled_with_allowed_clients(entity_id)


def security_context(idp):
    """A pysaml2 SecurityContext that trusts exactly `idp`'s stored signing certificates."""
    return _security_context(idp.entity_id, idp.signing_certificates, xmlsec_binary())


@functools.lru_cache(maxsize=64)
def _security_context(entity_id, certificates_pem, xmlsec):
    config = SPConfig()
    config.load({
        "entityid": sp_entity_id(),
        "xmlsec_binary": xmlsec,
        "only_use_keys_in_metadata": True,  # never a key from the assertion's own KeyInfo
        "metadata": {"inline": [_trust_metadata(entity_id, certificates_pem)]},
        "service": {"sp": {"endpoints": {"assertion_consumer_service": [(token_endpoint_url(), BINDING_HTTP_POST)]}}},
        "delete_tmpfiles": True,
    })
    context = pysaml2_security_context(config)
    context.crypto = xml_signatures.crypto_backend(xmlsec)
    return context


def _trust_metadata(entity_id, certificates_pem):
    """Minimal IdP metadata naming only the stored certificates, in the form pysaml2 reads keys from."""
    keys = [
        md.KeyDescriptor(use="signing", key_info=ds.KeyInfo(x509_data=[
            ds.X509Data(x509_certificate=ds.X509Certificate(text=certificates.base64_der(cert)))
        ]))
        for cert in certificates.load_certificates(certificates_pem)
    ]
    descriptor = md.IDPSSODescriptor(protocol_support_enumeration=samlp.NAMESPACE, key_descriptor=keys)
    return str(md.EntityDescriptor(entity_id=entity_id, idpsso_descriptor=[descriptor]))


# --- our SP metadata ---------------------------------------------------------------------------
def sp_metadata_xml():
    """Our SP metadata (SAML 2.0 Metadata §2.4.4), for an IdP admin to register us.

    RFC 7522 defines no SAML binding: the assertion reaches us in the token request. The token endpoint is
    published as the AssertionConsumerService (HTTP-POST, the binding IdP admin tools know) because IdPs
    put the ACS URL into SubjectConfirmationData/@Recipient, which must be the token endpoint URL.
    """
    sp = md.SPSSODescriptor(
        protocol_support_enumeration=samlp.NAMESPACE,
        authn_requests_signed="false",
        want_assertions_signed="true",
        name_id_format=[md.NameIDFormat(text=f) for f in (
            NAMEID_FORMAT_UNSPECIFIED, NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT)],
        assertion_consumer_service=[md.AssertionConsumerService(
            binding=BINDING_HTTP_POST, location=token_endpoint_url(), index="0", is_default="true")],
    )
    entity = md.EntityDescriptor(entity_id=sp_entity_id(), spsso_descriptor=[sp], extensions=md.Extensions())
    for algorithm in DIGEST_ALGORITHMS:
        entity.extensions.add_extension_element(algsupport.DigestMethod(algorithm=algorithm))
    for algorithm in SIGNATURE_ALGORITHMS:
        entity.extensions.add_extension_element(algsupport.SigningMethod(algorithm=algorithm))
    body = entity.to_string(nspair={"md": md.NAMESPACE, "alg": algsupport.NAMESPACE})
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


# --- reading an IdP's metadata -------------------------------------------------------------------
@dataclass(frozen=True)
class IdPMetadata:
    entity_id: str
    name: str
    certificates: list = field(default_factory=list)  # PEM strings
    xml: str = ""  # the chosen EntityDescriptor


def parse_idp_metadata(data, *, entity_id=None):
    """The IdP described by SAML metadata `data` (bytes or str); ValidationError with a clear message.

    An EntitiesDescriptor (a federation aggregate) needs `entity_id` unless it holds a single IdP.
    Signing certificates are the KeyDescriptors with use="signing" or no use (Metadata §2.4.1.1).
    """
    root = _parse_metadata_document(data)
    entity = _choose_entity(root, entity_id)
    descriptor = entity.find(f"{{{MD}}}IDPSSODescriptor")
    if samlp.NAMESPACE not in (descriptor.get("protocolSupportEnumeration") or "").split():
        raise ValidationError("The IDPSSODescriptor does not list the SAML 2.0 protocol.")
    pems = _signing_certificates(descriptor)
    if not pems:
        raise ValidationError("The metadata lists no signing certificate (KeyDescriptor use=\"signing\").")
    xml = data if isinstance(data, str) else data.decode("utf-8")
    if entity is not root:
        xml = SafeET.tostring(entity, encoding="unicode")
    return IdPMetadata(entity_id=entity.get("entityID"), name=_display_name(entity, descriptor),
                       certificates=pems, xml=xml)


def _parse_metadata_document(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > METADATA_MAX_BYTES:
        raise ValidationError(f"The metadata is larger than {METADATA_MAX_BYTES // (1024 * 1024)} MiB.")
    try:
        data.decode("utf-8")
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ValidationError("The metadata contains a DTD or entity declarations, which are refused.")
    except (ParseError, UnicodeDecodeError):
        raise ValidationError("The metadata is not well-formed UTF-8 XML.")


def _choose_entity(root, entity_id):
    if root.tag == f"{{{MD}}}EntityDescriptor":
        entities = [root]
    elif root.tag == f"{{{MD}}}EntitiesDescriptor":
        entities = list(root.iter(f"{{{MD}}}EntityDescriptor"))
    else:
        raise ValidationError("This is not SAML 2.0 metadata (no EntityDescriptor).")
    if entity_id:
        entities = [e for e in entities if e.get("entityID") == entity_id]
        if not entities:
            raise ValidationError(f"The metadata does not describe the entity {entity_id}.")
    idps = [e for e in entities if e.find(f"{{{MD}}}IDPSSODescriptor") is not None]
    if not idps:
        raise ValidationError("The metadata has no IDPSSODescriptor: is it a service provider's metadata?")
    if len(idps) > 1:
        raise ValidationError(f"The metadata describes {len(idps)} identity providers: choose one by its entity ID.")
    if not (idps[0].get("entityID") or "").strip():
        raise ValidationError("The EntityDescriptor has no entityID.")
    return idps[0]


def _signing_certificates(descriptor):
    pems = []
    for key in descriptor.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use") not in (None, "signing"):
            continue
        for node in key.iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
            pem = certificates.pem_from_base64_der(node.text or "")
            if pem not in pems:
                pems.append(pem)
    return pems


def _display_name(entity, descriptor):
    """The IdP's mdui:DisplayName, else its OrganizationDisplayName, else its entity ID."""
    for node in (descriptor.find(f"{{{MD}}}Extensions/{{{MDUI}}}UIInfo/{{{MDUI}}}DisplayName"),
                 entity.find(f"{{{MD}}}Organization/{{{MD}}}OrganizationDisplayName")):
        if node is not None and (node.text or "").strip():
            return node.text.strip()[:200]
    return entity.get("entityID")[:200]


def identity_provider_import(*, metadata_xml, entity_id=None, name=None, enabled=None, auto_provision=None):
    """Create or update the trusted IdP described by `metadata_xml`. Returns (idp, created).

    Certificates and stored metadata are replaced; `name`, `enabled` and `auto_provision` change only when
    given (a new IdP: its metadata's display name, enabled, no auto-provisioning).
    """
    meta = parse_idp_metadata(metadata_xml, entity_id=entity_id)
    with transaction.atomic():
        idp = TrustedIdentityProvider.objects.select_for_update().filter(entity_id=meta.entity_id).first()
        created = idp is None
        if created:
            idp = TrustedIdentityProvider(entity_id=meta.entity_id, name=meta.name)
        if name:
            idp.name = name
        if enabled is not None:
            idp.enabled = enabled
        if auto_provision is not None:
            idp.auto_provision = auto_provision
        idp.signing_certificates = "".join(meta.certificates)
        idp.metadata_xml = meta.xml
        idp.full_clean()
        idp.save()
    return idp, created
