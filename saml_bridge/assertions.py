"""SAML 2.0 bearer assertions for OAuth 2.0: verification, single use and subject mapping (RFC 7522).

- RFC 7522 §2.1: the ``assertion`` parameter is one base64url-encoded Assertion (decode_assertion_param).
- RFC 7522 §3: the processing rules, each checked by one ``_check_*`` function that cites its rule.
- RFC 7522 §5, SAML 2.0 Core §5 (XML Signature profile) and the SAML security literature on signature
  wrapping (XSW), XXE and CVE-2017-11427: the XML is size-limited, then parsed by defusedxml with DTDs
  refused, before pysaml2 or xmlsec1 sees a byte. Comments and processing instructions are refused
  anywhere, so a comment inside NameID cannot truncate it. There must be exactly one Assertion, the root,
  carrying exactly one enveloped Signature whose one Reference is "#" + the root's ID, an ID no other
  element carries: the node whose signature xmlsec1 checks is the node we read.

validate_assertion() never touches the replay table and never looks at users: the grant calls it, then
consume_assertion_id() and resolve_user(). Every failure is AssertionRejected with a short reason that is
safe to log and to return as an OAuth error_description: it names the rule, never echoes the assertion.
"""

import base64
import binascii
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Any
from xml.etree.ElementTree import ParseError, TreeBuilder

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from saml2 import saml
from saml2 import xmldsig as ds

from accounts.lookups import find_user_by_username
from oauth_server.rows import insert_once

from . import registry
from .models import UsedAssertion, UsernameSource

logger = logging.getLogger(__name__)

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SAML_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,255}$")  # an xs:ID, kept to ASCII
BASE64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# SAML 2.0 Core §5.4.4 and pysaml2's own allow-list: enveloped signature plus exclusive c14n.
ALLOWED_TRANSFORMS = {ds.TRANSFORM_ENVELOPED, ds.TRANSFORM_C14N, ds.TRANSFORM_C14N_WITH_COMMENTS}
ALLOWED_CANONICALIZATIONS = {ds.TRANSFORM_C14N, ds.TRANSFORM_C14N_WITH_COMMENTS}
ID_ATTRIBUTES = {"ID", "Id", "id"}
# OneTimeUse is honoured by single use (rule 6); ProxyRestriction limits what we may issue as a SAML
# authority, which we never are.
KNOWN_CONDITIONS = {f"{{{SAML}}}AudienceRestriction", f"{{{SAML}}}OneTimeUse", f"{{{SAML}}}ProxyRestriction"}


class AssertionRejected(Exception):
    """The assertion is not acceptable. `reason` is safe to log and to send as an error_description."""

    def __init__(self, message, *, rule=None):
        self.message = message
        self.rule = rule
        self.reason = f"{message} (RFC 7522 section 3, rule {rule})" if rule else message
        super().__init__(self.reason)


@dataclass(frozen=True)
class VerifiedAssertion:
    """What a valid assertion says, and until when its ID must be remembered."""

    idp: Any  # TrustedIdentityProvider
    issuer: str
    assertion_id: str
    name_id: str
    name_id_format: str
    attributes: dict = field(default_factory=dict)  # Name -> [values]
    not_on_or_after: datetime = None  # the earliest expiry that applied to the accepted confirmation
    replay_until: datetime = None  # keep the ID until then: no later instant could accept it


# --- the grant's parameter ----------------------------------------------------------------------
def decode_assertion_param(value):
    """RFC 7522 §2.1: the `assertion` parameter, base64url with or without padding, as bytes."""
    if not isinstance(value, str) or not value:
        raise AssertionRejected("the assertion parameter is missing")
    if len(value) > _max_bytes() * 4 // 3 + 4:
        raise AssertionRejected("the assertion is too large")
    if not BASE64URL.match(value):
        raise AssertionRejected("the assertion parameter is not base64url")
    unpadded = value.rstrip("=")
    if len(unpadded) % 4 == 1:
        raise AssertionRejected("the assertion parameter is not base64url")
    try:
        decoded = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise AssertionRejected("the assertion parameter is not base64url")
    if not decoded:
        raise AssertionRejected("the assertion parameter is empty")
    return decoded


# --- verification --------------------------------------------------------------------------------
def validate_assertion(xml_bytes, *, audiences, recipient, now=None, clock_skew=None):
    """Check every RFC 7522 §3 rule on one Assertion; return what it says or raise AssertionRejected.

    audiences: the values that name us (registry.sp_audiences()); recipient: the token endpoint URL
    (registry.token_endpoint_url()); clock_skew: seconds, default SAML_CLOCK_SKEW_SECONDS.
    """
    now = now or timezone.now()
    skew = timedelta(seconds=settings.SAML_CLOCK_SKEW_SECONDS if clock_skew is None else clock_skew)
    root = _parse_hardened(xml_bytes)
    _check_single_assertion(root)
    _check_signature_structure(root)
    _check_known_conditions(root)
    idp = _check_issuer(root)
    assertion = _check_signature(xml_bytes, root, idp)
    _check_version_and_issue_instant(assertion, now, skew)
    conditions_expiry = _check_conditions(assertion, now, skew)
    _check_audience(assertion, audiences)
    name_id = _check_subject(assertion, root)
    confirmation_expiry = _check_bearer_confirmation(assertion, recipient, now, skew)
    return VerifiedAssertion(
        idp=idp,
        issuer=idp.entity_id,
        assertion_id=assertion.id,
        name_id=name_id,
        name_id_format=assertion.subject.name_id.format or "",
        attributes=_attributes(assertion),
        not_on_or_after=min(filter(None, [conditions_expiry, confirmation_expiry])),
        replay_until=_replay_until(assertion, skew),
    )


def _max_bytes():
    return getattr(settings, "SAML_MAX_ASSERTION_BYTES", 64 * 1024)


def _parse_hardened(xml_bytes):
    """Size limit, then defusedxml with DTDs refused and comments kept so that we can refuse them."""
    if not isinstance(xml_bytes, bytes) or not xml_bytes:
        raise AssertionRejected("the assertion is empty")
    if len(xml_bytes) > _max_bytes():
        raise AssertionRejected("the assertion is too large")
    declared = XML_ENCODING.match(xml_bytes)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        raise AssertionRejected("the assertion must be encoded in UTF-8")
    try:
        xml_bytes.decode("utf-8")
        parser = SafeET.DefusedXMLParser(target=TreeBuilder(insert_comments=True, insert_pis=True),
                                         forbid_dtd=True, forbid_entities=True, forbid_external=True)
        parser.feed(xml_bytes)
        return parser.close()
    except DefusedXmlException:
        raise AssertionRejected("XML DTDs and entity declarations are not allowed")
    except (ParseError, UnicodeDecodeError, ValueError):
        raise AssertionRejected("the assertion is not well-formed UTF-8 XML")


def _check_single_assertion(root):
    """XSW defence: the document is one Assertion and holds no other, plain or encrypted."""
    if root.tag != f"{{{SAML}}}Assertion":
        raise AssertionRejected("the document must be a single SAML 2.0 Assertion")
    for element in root.iter():
        if not isinstance(element.tag, str):  # ElementTree gives comments and PIs a function as tag
            raise AssertionRejected("XML comments and processing instructions are not allowed")
        local = element.tag.rpartition("}")[2]
        if local in ("Assertion", "EncryptedAssertion") and element is not root:
            raise AssertionRejected("the document must contain exactly one Assertion")
        if local in ("EncryptedID", "EncryptedAttribute"):
            raise AssertionRejected("encrypted elements are not supported", rule=10)


def _check_signature_structure(root):
    """XSW defence (SAML 2.0 Core §5.4): one enveloped Signature on the root, referring to the root's ID."""
    assertion_id = root.get("ID") or ""
    if not SAML_ID.match(assertion_id):
        raise AssertionRejected("the Assertion has no valid ID", rule=11)
    signatures = list(root.iter(f"{{{DS}}}Signature"))
    if not signatures:
        raise AssertionRejected("the assertion is not signed", rule=9)
    if len(signatures) != 1 or root.find(f"{{{DS}}}Signature") is not signatures[0]:
        raise AssertionRejected("the signature must be a single enveloped signature of the Assertion", rule=9)
    _check_signed_info(signatures[0], assertion_id)
    for element in root.iter():
        if element is not root and any(_local(name) in ID_ATTRIBUTES and value == assertion_id
                                       for name, value in element.attrib.items()):
            raise AssertionRejected("the Assertion's ID is not unique in the document", rule=9)


def _check_signed_info(signature, assertion_id):
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    references = [] if signed_info is None else signed_info.findall(f"{{{DS}}}Reference")
    if len(references) != 1 or references[0].get("URI") != f"#{assertion_id}":
        raise AssertionRejected("the signature must refer to the Assertion's ID and nothing else", rule=9)
    if signature.find(f"{{{DS}}}Object") is not None:
        raise AssertionRejected("the signature must not carry ds:Object content", rule=9)
    method = _algorithm(signed_info, "SignatureMethod")
    digest = _algorithm(references[0], "DigestMethod")
    if method not in registry.SIGNATURE_ALGORITHMS or digest not in registry.DIGEST_ALGORITHMS:
        raise AssertionRejected("the signature and digest must use SHA-256 or stronger", rule=9)
    if _algorithm(signed_info, "CanonicalizationMethod") not in ALLOWED_CANONICALIZATIONS:
        raise AssertionRejected("the signature must use exclusive canonicalization", rule=9)
    transforms = [t.get("Algorithm") for t in references[0].iterfind(f"{{{DS}}}Transforms/{{{DS}}}Transform")]
    if ds.TRANSFORM_ENVELOPED not in transforms or not set(transforms) <= ALLOWED_TRANSFORMS:
        raise AssertionRejected("the signature must be enveloped with no other transforms than c14n", rule=9)


def _algorithm(parent, name):
    node = parent.find(f"{{{DS}}}{name}")
    return None if node is None else node.get("Algorithm")


def _local(name):
    return name.rpartition("}")[2]


def _check_known_conditions(root):
    # RFC 7522 §3, rule 11: refuse unknown condition types (SAML 2.0 Core §2.5.1.2). Checked on the tree before
    # the signature, since pysaml2's schema validation would refuse them too, with a less precise reason.
    for conditions in root.findall(f"{{{SAML}}}Conditions"):
        for condition in conditions:
            if condition.tag not in KNOWN_CONDITIONS:
                raise AssertionRejected("the Conditions hold a condition type this server does not know", rule=11)


def _check_issuer(root):
    # RFC 7522 §3, rule 1: <Issuer> identifies the IdP; it must be an enabled trusted IdP.
    issuers = root.findall(f"{{{SAML}}}Issuer")
    issuer = (issuers[0].text or "").strip() if len(issuers) == 1 else ""
    if issuers and issuers[0].get("Format") not in (None, saml.NAMEID_FORMAT_ENTITY):
        raise AssertionRejected("the Issuer must be an entity identifier", rule=1)
    idp = registry.find_enabled_idp(issuer)
    if idp is None:
        raise AssertionRejected("the Issuer is not an enabled trusted identity provider", rule=1)
    return idp


def _check_signature(xml_bytes, root, idp):
    # RFC 7522 §3, rule 9: signed by the issuer; pysaml2 runs xmlsec1 with the IdP's stored keys only.
    try:
        assertion = registry.security_context(idp).correctly_signed_message(xml_bytes, "assertion", must=True)
    except Exception as error:  # pysaml2 raises a dozen types, some carrying the document: log the type only
        logger.info("SAML assertion from %s: signature check failed (%s)", idp.entity_id, type(error).__name__)
        raise AssertionRejected("the signature is not valid for the Issuer's certificates", rule=9)
    # The object pysaml2 verified is the node we checked: same ID, same issuer.
    if assertion is None or assertion.id != root.get("ID") or _text(assertion.issuer) != idp.entity_id:
        raise AssertionRejected("the signed element is not the evaluated Assertion", rule=9)
    return assertion


def _check_version_and_issue_instant(assertion, now, skew):
    # RFC 7522 §3, rule 11: valid in all other respects per SAML 2.0 Core §2.3.3.
    if assertion.version != "2.0":
        raise AssertionRejected("the Assertion Version must be 2.0", rule=11)
    issued = _instant(assertion.issue_instant, "IssueInstant", rule=11)
    if issued is None or issued > now + skew:
        raise AssertionRejected("the IssueInstant is missing or in the future", rule=11)


def _check_conditions(assertion, now, skew):
    # RFC 7522 §3, rules 6 and 11: NotBefore/NotOnOrAfter with clock skew; no condition we do not know.
    conditions = assertion.conditions
    if conditions is None:
        raise AssertionRejected("the assertion has no Conditions with an Audience", rule=2)
    if conditions.condition or conditions.extension_elements:
        raise AssertionRejected("the Conditions hold a condition type this server does not know", rule=11)
    not_before = _instant(conditions.not_before, "NotBefore", rule=11)
    if not_before is not None and now + skew < not_before:
        raise AssertionRejected("the assertion is not yet valid (Conditions NotBefore)", rule=11)
    expiry = _instant(conditions.not_on_or_after, "NotOnOrAfter", rule=6)
    if expiry is not None and now - skew >= expiry:
        raise AssertionRejected("the assertion has expired (Conditions NotOnOrAfter)", rule=6)
    return expiry


def _check_audience(assertion, audiences):
    # RFC 7522 §3, rule 2: every AudienceRestriction names us (our entity ID or the token endpoint URL).
    restrictions = assertion.conditions.audience_restriction
    if not restrictions:
        raise AssertionRejected("the assertion has no Conditions with an Audience", rule=2)
    ours = set(audiences)
    for restriction in restrictions:
        if not {_text(a) for a in restriction.audience} & ours:
            raise AssertionRejected("the Audience does not name this authorization server", rule=2)


def _check_subject(assertion, root):
    # RFC 7522 §3, rule 3: a Subject whose NameID identifies the resource owner.
    subject = assertion.subject
    name_id = None if subject is None else subject.name_id
    name = _text(name_id)
    if not name:
        raise AssertionRejected("the assertion has no Subject NameID", rule=3)
    # CVE-2017-11427 class: the NameID we read is the whole text of the signed node, nothing hidden in it.
    nodes = root.findall(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    if len(nodes) != 1 or len(nodes[0]) or (nodes[0].text or "").strip() != name:
        raise AssertionRejected("the Subject NameID must be plain text", rule=3)
    return name


def _check_bearer_confirmation(assertion, recipient, now, skew):
    # RFC 7522 §3, rules 5 and 6: one bearer SubjectConfirmation, for our token endpoint, not yet expired.
    failures = []
    for confirmation in assertion.subject.subject_confirmation or []:
        if confirmation.method != BEARER:
            continue
        try:
            return _check_confirmation_data(confirmation.subject_confirmation_data, recipient, now, skew)
        except AssertionRejected as rejected:
            failures.append(rejected)
    if failures:
        raise failures[0]
    raise AssertionRejected("the Subject has no bearer SubjectConfirmation", rule=5)


def _check_confirmation_data(data, recipient, now, skew):
    if data is None:
        raise AssertionRejected("the bearer SubjectConfirmation has no SubjectConfirmationData", rule=5)
    if data.recipient != recipient:
        raise AssertionRejected("the SubjectConfirmationData Recipient is not the token endpoint", rule=5)
    expiry = _instant(data.not_on_or_after, "NotOnOrAfter", rule=5)
    if expiry is None:
        raise AssertionRejected("the SubjectConfirmationData has no NotOnOrAfter", rule=5)
    if now - skew >= expiry:
        raise AssertionRejected("the SubjectConfirmationData has expired (NotOnOrAfter)", rule=6)
    not_before = _instant(data.not_before, "NotBefore", rule=5)
    if not_before is not None and now + skew < not_before:
        raise AssertionRejected("the SubjectConfirmationData is not yet valid (NotBefore)", rule=5)
    return expiry


def _replay_until(assertion, skew):
    """The last instant any path through the checks could accept this assertion, plus the skew."""
    instants = [_instant(assertion.conditions.not_on_or_after, "NotOnOrAfter", rule=6)]
    instants += [_instant(c.subject_confirmation_data.not_on_or_after, "NotOnOrAfter", rule=5)
                 for c in assertion.subject.subject_confirmation or []
                 if c.method == BEARER and c.subject_confirmation_data is not None]
    return max(filter(None, instants)) + skew


def _attributes(assertion):
    values = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values.setdefault(attribute.name, []).extend(_text(v) for v in attribute.attribute_value or [])
    return values


def _text(element):
    return "" if element is None or element.text is None else element.text.strip()


def _instant(value, name, *, rule):
    """An xs:dateTime as an aware datetime (UTC when no zone is given); None when absent."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise AssertionRejected(f"the {name} is not a valid time", rule=rule)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)


# --- replay ----------------------------------------------------------------------------------------
def replay_key(issuer, assertion_id):
    """What UsedAssertion stores: SHA-256 of (issuer, ID), length-prefixed so no two pairs collide."""
    return hashlib.sha256(f"{len(issuer)}:{issuer}{assertion_id}".encode("utf-8")).hexdigest()


def consume_assertion_id(verified):
    """RFC 7522 §3, rule 6: record the ID as used; AssertionRejected if it already was.

    One INSERT ... ON CONFLICT against a unique index: under concurrency exactly one request wins, the
    others wait for it on the index and are refused, in any process sharing the database.
    """
    first_use = insert_once(
        UsedAssertion,
        {"assertion_id": replay_key(verified.issuer, verified.assertion_id), "expires_at": verified.replay_until},
        unique="assertion_id",
    )
    if not first_use:
        raise AssertionRejected("the assertion was already used", rule=6)


# --- subject -> user -------------------------------------------------------------------------------
def resolve_user(verified):
    """RFC 7522 §3, rule 3: the active local user the subject names, provisioned if the IdP allows it."""
    idp = verified.idp
    username = _subject_username(verified)
    user = find_user_by_username(username)
    if user is None:
        if not idp.auto_provision:
            raise AssertionRejected("the subject is not a known user", rule=3)
        user = _provision_user(get_user_model(), username, _subject_email(verified))
    if not user.is_active:
        raise AssertionRejected("the subject's user account is disabled", rule=3)
    return user


def _subject_username(verified):
    idp = verified.idp
    if idp.username_source == UsernameSource.ATTRIBUTE:
        values = [v for v in verified.attributes.get(idp.username_attribute, []) if v]
        if len(values) != 1:
            raise AssertionRejected("the username attribute is missing or has several values", rule=3)
        return values[0]
    if verified.name_id_format == saml.NAMEID_FORMAT_TRANSIENT:
        raise AssertionRejected("a transient NameID cannot identify a user", rule=3)
    return verified.name_id


def _subject_email(verified):
    attribute = verified.idp.email_attribute
    values = verified.attributes.get(attribute, []) if attribute else []
    try:
        validate_email(values[0])
    except (IndexError, ValidationError):
        return ""
    return values[0]


def _provision_user(User, username, email):
    field = User._meta.get_field(User.USERNAME_FIELD)
    try:
        field.clean(username, None)
    except ValidationError:
        raise AssertionRejected("the subject is not a valid username", rule=3)
    user = User(**{User.USERNAME_FIELD: username}, email=email)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # provisioned concurrently by another request
        return User._default_manager.get(**{User.USERNAME_FIELD: username})
    logger.info("SAML: provisioned user %s", username)
    return user
