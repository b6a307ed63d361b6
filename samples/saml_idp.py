"""A real SAML 2.0 identity provider for the samples and the tests: pysaml2 signs assertions with a demo key.

    idp = TestIdP("https://idp.acme.test/saml", key_file, cert_file)
    xml = idp.assertion()                       # a valid, signed Assertion for our SP (bytes)
    xml = idp.assertion(audience="https://x")   # the same with one thing overridden
    param = idp.encoded(name_id="bob")          # base64url, no padding: the saml2-bearer `assertion`

Keys are generated at run time (generate_test_keypair: by the test session, or by `manage.py seed_demo`
for the demo IdP); none is checked in. The pytest fixtures are in tests/saml_idp.py.
"""

import base64
import datetime as dt
import os

from saml2 import BINDING_HTTP_REDIRECT, class_name, saml
from saml2 import xmldsig as ds
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.s_utils import sid
from saml2.server import Server
from saml2.sigver import pre_signature_part

from saml_bridge.certificates import self_signed_pair

ACME_ENTITY_ID = "https://idp.acme.test/saml"
ROGUE_ENTITY_ID = "https://idp.rogue.test/saml"
_UNSET = object()


def generate_test_keypair(directory, common_name, *, key_size=2048, days=30):
    """A fresh RSA key and self-signed certificate, written to `directory`. Returns (key_file, cert_file)."""
    key_pem, cert_pem = self_signed_pair(common_name, key_size=key_size, days=days)
    return write_keypair(directory, common_name, key_pem, cert_pem)


def write_keypair(directory, common_name, key_pem, cert_pem):
    """pysaml2 reads its key and certificate from files: write them (the key readable by its owner only)."""
    key_file = os.path.join(directory, f"{common_name}-test-only.key")
    cert_file = os.path.join(directory, f"{common_name}-test-only.crt")
    with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(key_pem)
    with open(cert_file, "w") as f:
        f.write(cert_pem)
    return key_file, cert_file


def saml_time(instant):
    return instant.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestIdP:
    """A pysaml2 IdP (saml2.server.Server) that builds and signs bearer assertions for our SP."""

    __test__ = False  # a helper, not a test class

    def __init__(self, entity_id, key_file, cert_file, *, audience=None, recipient=None, xmlsec_binary=None):
        self.entity_id = entity_id
        self.key_file, self.cert_file = key_file, cert_file
        self._audience, self._recipient = audience, recipient
        self.model = None  # the TrustedIdentityProvider row, when a fixture registered it
        config = IdPConfig()
        config.load({
            "entityid": entity_id,
            "key_file": key_file,
            "cert_file": cert_file,
            "xmlsec_binary": xmlsec_binary or _xmlsec_binary(),
            "service": {"idp": {"endpoints": {
                "single_sign_on_service": [(entity_id.rsplit("/", 1)[0] + "/sso", BINDING_HTTP_REDIRECT)],
            }}},
        })
        self.server = Server(config=config)

    # --- what an IdP admin hands over -------------------------------------------------------
    @property
    def certificate_pem(self):
        with open(self.cert_file) as f:
            return f.read()

    def metadata_xml(self):
        """This IdP's SAML metadata, as pysaml2 publishes it."""
        return str(entity_descriptor(self.server.config))

    # --- assertions -------------------------------------------------------------------------
    def encoded(self, **overrides):
        """The assertion as the saml2-bearer grant's `assertion` parameter (base64url, no padding)."""
        return base64.urlsafe_b64encode(self.assertion(**overrides)).rstrip(b"=").decode("ascii")

    def assertion(self, *, now=None, assertion_id=None, issuer=_UNSET, name_id="alice",
                  name_id_format=saml.NAMEID_FORMAT_UNSPECIFIED, audience=_UNSET, recipient=_UNSET,
                  method=saml.SCM_BEARER, confirmation=True, confirmation_not_on_or_after=_UNSET,
                  not_before=_UNSET, not_on_or_after=_UNSET, issue_instant=_UNSET, attributes=None,
                  signed=True, key=None, sign_alg=ds.SIG_RSA_SHA256, digest_alg=ds.DIGEST_SHA256, mutate=None):
        """A signed Assertion (bytes). Each keyword overrides one thing of a valid assertion:

        issuer, name_id, name_id_format, audience (str, list, or None: no AudienceRestriction),
        recipient (None: no Recipient), method, confirmation=False (no SubjectConfirmation),
        confirmation_not_on_or_after / not_before / not_on_or_after / issue_instant (datetime, or None: absent),
        attributes ({name: value or [values]}), signed=False, key=<another TestIdP> (signs with its key and
        embeds its certificate), sign_alg / digest_alg, mutate=callable(saml.Assertion) before signing.
        """
        now = now or dt.datetime.now(dt.timezone.utc)
        later = now + dt.timedelta(minutes=5)
        assertion_id = assertion_id or sid()
        statement = saml.Assertion(
            id=assertion_id, version="2.0",
            issue_instant=_time_or_none(now if issue_instant is _UNSET else issue_instant),
            issuer=saml.Issuer(text=self.entity_id if issuer is _UNSET else issuer, format=saml.NAMEID_FORMAT_ENTITY),
            subject=saml.Subject(
                name_id=saml.NameID(text=name_id, format=name_id_format),
                subject_confirmation=[self._confirmation(
                    method, self._default_recipient() if recipient is _UNSET else recipient,
                    later if confirmation_not_on_or_after is _UNSET else confirmation_not_on_or_after,
                )] if confirmation else [],
            ),
            conditions=saml.Conditions(
                not_before=_time_or_none(now if not_before is _UNSET else not_before),
                not_on_or_after=_time_or_none(later if not_on_or_after is _UNSET else not_on_or_after),
                audience_restriction=self._audience_restriction(audience),
            ),
            authn_statement=[saml.AuthnStatement(
                authn_instant=saml_time(now), session_index=sid(),
                authn_context=saml.AuthnContext(authn_context_class_ref=saml.AuthnContextClassRef(
                    text=saml.AUTHN_PASSWORD_PROTECTED)),
            )],
            attribute_statement=self._attribute_statement(attributes),
        )
        if mutate:
            mutate(statement)
        if not signed:
            return ('<?xml version="1.0" encoding="UTF-8"?>' + str(statement)).encode("utf-8")
        return (key or self).sign(statement, sign_alg=sign_alg, digest_alg=digest_alg)

    def sign(self, statement, *, sign_alg=ds.SIG_RSA_SHA256, digest_alg=ds.DIGEST_SHA256):
        """Sign a saml.Assertion with this IdP's key (enveloped, exclusive c14n), as real IdPs do."""
        statement.signature = pre_signature_part(
            ident=statement.id, public_key=self.server.sec.my_cert, sign_alg=sign_alg, digest_alg=digest_alg)
        signed = self.server.sec.sign_statement(str(statement), node_name=class_name(statement),
                                                node_id=statement.id)
        return signed.encode("utf-8")

    # --- parts --------------------------------------------------------------------------------
    def _default_audience(self):
        if self._audience:
            return self._audience
        from saml_bridge import registry
        return registry.sp_entity_id()

    def _default_recipient(self):
        if self._recipient:
            return self._recipient
        from saml_bridge import registry
        return registry.token_endpoint_url()

    def _audience_restriction(self, audience):
        audience = self._default_audience() if audience is _UNSET else audience
        if audience is None:
            return []
        values = [audience] if isinstance(audience, str) else list(audience)
        return [saml.AudienceRestriction(audience=[saml.Audience(text=v) for v in values])]

    @staticmethod
    def _confirmation(method, recipient, not_on_or_after):
        data = saml.SubjectConfirmationData(recipient=recipient, not_on_or_after=_time_or_none(not_on_or_after))
        return saml.SubjectConfirmation(method=method, subject_confirmation_data=data)

    @staticmethod
    def _attribute_statement(attributes):
        if not attributes:
            return []
        return [saml.AttributeStatement(attribute=[
            saml.Attribute(name=name, name_format=saml.NAME_FORMAT_BASIC, attribute_value=[
                saml.AttributeValue(text=v) for v in ([values] if isinstance(values, str) else values)])
            for name, values in attributes.items()
        ])]


def _time_or_none(instant):
    return None if instant is None else saml_time(instant)


def _xmlsec_binary():
    try:
        from saml_bridge import registry
        return registry.xmlsec_binary() or "/usr/bin/xmlsec1"
    except Exception:  # used outside Django (samples)
        import shutil
        return shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
