"""Trusted SAML identity providers, and the assertion IDs already used (RFC 7522 §3, rules 1, 6 and 9)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone

from oauth_server.rows import SPACE_SEPARATED_LIST, Columns, RowQuery

from . import certificates


class UsernameSource(models.TextChoices):
    NAME_ID = "name_id", "The Subject's NameID"
    ATTRIBUTE = "attribute", "A named attribute"


class TrustedIdentityProviderManager(models.Manager):
    def enabled_with_allowed_clients(self, entity_id):
        """The enabled IdP whose entity ID is exactly `entity_id`, with its client allow-list, in one query
        (or None). The SAML grant asks for both on every request; this skips the ORM's per-request query
        building and the separate allow-list query (oauth_server/rows.py). `metadata_xml` loads on access."""
        if connection.vendor not in SPACE_SEPARATED_LIST:
            return self.filter(entity_id=entity_id, enabled=True).first()
        found = _IDP_WITH_ALLOWED_CLIENTS.fetch_one([entity_id])
        if found is None:
            return None
        idp, client_pks = found
        idp.__dict__["_allowed_client_pks"] = frozenset(int(pk) for pk in (client_pks or "").split())
        return idp


class TrustedIdentityProvider(models.Model):
    """A SAML IdP whose signed assertions may be exchanged for tokens (the saml2-bearer grant)."""

    objects = TrustedIdentityProviderManager()

    name = models.CharField(max_length=200)
    # SAML 2.0 Metadata §2.3.2: entityID is a URI of at most 1024 characters.
    entity_id = models.CharField(
        "entity ID", max_length=1024, unique=True,
        help_text="The IdP's SAML entityID; an assertion's <Issuer> must equal it exactly.",
    )
    signing_certificates = models.TextField(
        help_text="One or more PEM certificates (-----BEGIN CERTIFICATE-----). An assertion signed by any of them "
                  "is accepted: list the old and the new one while the IdP rolls its key over.",
    )
    metadata_xml = models.TextField(
        "metadata XML", blank=True, help_text="The IdP's metadata as last imported (kept for reference).",
    )
    enabled = models.BooleanField(default=True, help_text="A disabled IdP's assertions are refused.")

    username_source = models.CharField(
        max_length=20, choices=UsernameSource.choices, default=UsernameSource.NAME_ID,
        help_text="Where the local username comes from.",
    )
    username_attribute = models.CharField(
        max_length=255, blank=True,
        help_text="The attribute's Name, when the username comes from an attribute "
                  "(e.g. uid or urn:oid:0.9.2342.19200300.100.1.1).",
    )
    email_attribute = models.CharField(
        max_length=255, blank=True, help_text="Optional: the attribute whose value becomes a provisioned user's email.",
    )
    auto_provision = models.BooleanField(
        "create unknown users", default=False,
        help_text="Create a local user (without a password) the first time an unknown subject is presented.",
    )
    allowed_clients = models.ManyToManyField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, blank=True, related_name="trusted_identity_providers",
        help_text="Clients that may present this IdP's assertions. None selected: any client allowed the "
                  "SAML 2.0 bearer grant.",
    )

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "trusted identity provider"

    def __str__(self):
        return self.name or self.entity_id

    def clean(self):
        super().clean()
        errors = {}
        try:
            parsed = certificates.load_certificates(self.signing_certificates)
        except ValidationError as e:
            errors["signing_certificates"] = e.messages
        else:
            self.signing_certificates = "".join(certificates.to_pem(c) for c in parsed)
        if self.entity_id != self.entity_id.strip() or not self.entity_id:
            errors["entity_id"] = "The entity ID must not be empty or start or end with spaces."
        if self.username_source == UsernameSource.ATTRIBUTE and not self.username_attribute.strip():
            errors["username_attribute"] = "Name the attribute that holds the username."
        if errors:
            raise ValidationError(errors)

    # --- policy ---------------------------------------------------------------------------
    def certificate_pems(self):
        """The signing certificates, one PEM string each."""
        return [certificates.to_pem(c) for c in certificates.load_certificates(self.signing_certificates)]

    def allows_client(self, client):
        """May `client` present this IdP's assertions? An empty allow-list means any client."""
        allowed = self.__dict__.get("_allowed_client_pks")  # loaded with the IdP on the grant's hot path
        if allowed is None:
            allowed = set(self.allowed_clients.values_list("pk", flat=True))  # one query; allow-lists are short
        return not allowed or client.pk in allowed


def _idp_with_allowed_clients_query():
    idp = Columns(TrustedIdentityProvider, "i", [f.name for f in TrustedIdentityProvider._meta.concrete_fields
                                                  if f.name != "metadata_xml"])
    allowed = TrustedIdentityProvider.allowed_clients.field
    through = allowed.remote_field.through._meta
    quote = connection.ops.quote_name
    client_pks = SPACE_SEPARATED_LIST[connection.vendor].format(f"{quote('m')}.{quote(allowed.m2m_reverse_name())}")
    sql = (
        f"SELECT {idp.select_list()},"
        f" (SELECT {client_pks} FROM {quote(through.db_table)} {quote('m')}"
        f" WHERE {quote('m')}.{quote(allowed.m2m_column_name())} = {idp.pk_column()})"
        f" FROM {idp.table_as_alias()} WHERE {idp.column('entity_id')} = %s AND {idp.column('enabled')}"
    )
    return [idp], sql


_IDP_WITH_ALLOWED_CLIENTS = RowQuery(_idp_with_allowed_clients_query)


@receiver(m2m_changed, sender=TrustedIdentityProvider.allowed_clients.through)
def forget_allowed_clients(sender, instance, **kwargs):
    """An IdP instance read its allow-list with it; changing the list through it must not leave it stale."""
    if isinstance(instance, TrustedIdentityProvider):
        instance.__dict__.pop("_allowed_client_pks", None)


class UsedAssertion(models.Model):
    """An accepted assertion's (issuer, ID), kept until the assertion expires: each is single use.

    RFC 7522 §3 rule 6 lets the server keep "the set of used ID values for the length of time for which
    the Assertion would be considered valid". The unique constraint is what enforces single use, in one
    INSERT, across processes and hosts sharing the database.
    """

    assertion_id = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the issuer and the ID.")
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "used assertion"

    def __str__(self):
        return self.assertion_id


def used_assertions_purge(*, now=None):
    """Forget the IDs of assertions that can no longer be accepted anyway. Returns how many rows went."""
    deleted, _ = UsedAssertion.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
