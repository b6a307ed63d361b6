"""Clients, scopes and consents: who may ask for what, and what users agreed to; used JWT IDs; our signing keys."""

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, models, transaction
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone
from oauth2_provider.models import (
    AbstractApplication,
    ApplicationManager,
    RefreshToken,
    get_access_token_model,
    get_grant_model,
)
from oauth2_provider.settings import oauth2_settings

import audit

from . import client_keys, client_secrets
from .rows import SPACE_SEPARATED_LIST, Columns, RowQuery, insert_once
from .constants import (
    DOT_GRANT_ALIASES,
    REDIRECTING_GRANTS,
    SERVER_SIGNING_ALGORITHMS,
    AccessTokenFormat,
    ClientAuthMethod,
    GrantType,
)

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
scope_name_validator = RegexValidator(
    r"^[\x21\x23-\x5b\x5d-\x7e]+$", "A scope name is printable ASCII without spaces, quotes or backslashes."
)


def token_checksum(value):
    """How tokens and codes are looked up: we store their SHA-256, never the value (RFC 9700 §4.14)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class Scope(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[scope_name_validator])
    description = models.CharField(max_length=255, help_text="Shown to end users on the consent page.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClientManager(ApplicationManager):
    def for_token_endpoint(self, client_id):
        """The client named `client_id` with its allowed scope names, in one query (or None).

        The token and introspection endpoints load a client on every request; this skips the ORM's
        per-request query building (oauth_server/rows.py) and the separate scopes query.
        """
        if connection.vendor not in SPACE_SEPARATED_LIST:
            client = self.filter(client_id=client_id).first()
            if client is not None:
                client.allowed_scope_names()
            return client
        found = CLIENT_WITH_SCOPES.fetch_one([client_id])
        if found is None:
            return None
        client, scope_names = found
        client.__dict__["_allowed_scope_names"] = frozenset((scope_names or "").split())
        return client


# Scope names never contain spaces (RFC 6749 §3.3), so a space-joined list splits back exactly.


def _client_with_scopes_query():
    client = Columns(Client, "c")
    scope = Columns(Scope, "s", ["id", "name"])
    allowed = Client.allowed_scopes.field
    through = allowed.remote_field.through._meta
    quote = connection.ops.quote_name
    link = f"{quote('m')}.{quote(allowed.m2m_column_name())}"
    link_scope = f"{quote('m')}.{quote(allowed.m2m_reverse_name())}"
    names = SPACE_SEPARATED_LIST[connection.vendor].format(scope.column("name"))
    sql = (
        f"SELECT {client.select_list()},"
        f" (SELECT {names} FROM {scope.table_as_alias()}"
        f" INNER JOIN {quote(through.db_table)} {quote('m')} ON {link_scope} = {scope.column('id')}"
        f" WHERE {link} = {client.column('id')})"
        f" FROM {client.table_as_alias()} WHERE {client.column('client_id')} = %s"
    )
    return [client], sql


CLIENT_WITH_SCOPES = RowQuery(_client_with_scopes_query)


class Client(AbstractApplication):
    """An OAuth client. Unlike DOT's Application it may be allowed several grant types."""

    objects = ClientManager()

    # DOT's single-grant field (44 characters: too short for the SAML URN) is unused.
    authorization_grant_type = models.CharField(max_length=44, blank=True, default="", editable=False)
    # Only our HMAC of the secret is stored; see client_secrets.py.
    client_secret = models.CharField(max_length=255, blank=True, default="", editable=False)
    hash_client_secret = models.BooleanField(default=False, editable=False)

    description = models.TextField(blank=True)
    logo_url = models.URLField(blank=True)
    contact_email = models.EmailField(blank=True)
    enabled = models.BooleanField(
        default=True,
        help_text="A disabled client cannot authenticate. Disabling it revokes its tokens: enabling it again "
                  "does not bring them back.",
    )
    allowed_grant_types = models.JSONField(default=list, blank=True)
    token_endpoint_auth_method = models.CharField(
        max_length=40, choices=ClientAuthMethod.choices, default=ClientAuthMethod.CLIENT_SECRET_BASIC
    )
    allowed_scopes = models.ManyToManyField(Scope, blank=True, related_name="clients_allowed")
    default_scopes = models.ManyToManyField(
        Scope, blank=True, related_name="clients_defaulting",
        help_text="Granted when a request names no scope. Must be among the allowed scopes.",
    )
    access_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds. Empty: the server default (ACCESS_TOKEN_EXPIRE_SECONDS)."
    )
    refresh_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds a refresh token lives after issue. Empty: the server default."
    )
    may_introspect_any_token = models.BooleanField(
        default=False, help_text="For resource servers: may introspect tokens issued to other clients."
    )
    access_token_format = models.CharField(
        max_length=10, choices=AccessTokenFormat.choices, default=AccessTokenFormat.OPAQUE,
        help_text="JWT access tokens (RFC 9068) can be checked by resource servers with the server's JWKS alone.",
    )

    # Public keys that verify what the client signs (JWT-bearer assertions, private_key_jwt).
    jwks = models.JSONField(
        default=dict, blank=True, verbose_name="JWKS",
        help_text='The client\'s PUBLIC keys as a JWK Set: {"keys": [{"kty": "RSA", "kid": "...", "n": "...", "e": "AQAB"}]}.',
    )
    jwks_uri = models.URLField(
        blank=True, verbose_name="JWKS URI",
        help_text="Where the client publishes its JWK Set; fetched and cached, refetched for an unknown kid.",
    )
    certificate = models.TextField(
        blank=True, verbose_name="X.509 certificate",
        help_text="PEM (-----BEGIN CERTIFICATE-----); its public key verifies the client's JWTs.",
    )

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = "client"

    # --- policy ---------------------------------------------------------------------------
    def allows_grant_type(self, *grant_types):
        return any(DOT_GRANT_ALIASES.get(g, g) in self.allowed_grant_types for g in grant_types)

    def is_usable(self, request):
        return self.enabled

    def redirect_uri_allowed(self, uri):
        """Exact string matching against the registered URIs (RFC 9700 §4.1.3): no port or path leeway,
        not even for loopback addresses."""
        return uri in self.redirect_uris.split()

    @property
    def is_public(self):
        return self.client_type == self.CLIENT_PUBLIC

    def allowed_scope_names(self):
        """The names of the scopes this client may ask for (read once per instance: one request)."""
        if "_allowed_scope_names" not in self.__dict__:
            self.__dict__["_allowed_scope_names"] = frozenset(s.name for s in self.allowed_scopes.all())
        return self.__dict__["_allowed_scope_names"]

    def default_scope_names(self):
        return [s.name for s in self.default_scopes.all()]

    def access_token_expires_in(self):
        return self.access_token_lifetime or settings.ACCESS_TOKEN_EXPIRE_SECONDS

    @property
    def has_public_keys(self):
        return bool(self.jwks or self.jwks_uri or self.certificate.strip())

    @property
    def uses_secret(self):
        return not self.is_public and self.token_endpoint_auth_method != ClientAuthMethod.PRIVATE_KEY_JWT

    # --- secrets ----------------------------------------------------------------------------
    def set_new_secret(self):
        """Give the client a fresh secret; return it in clear text (the only time it exists)."""
        secret = client_secrets.generate_client_secret()
        self.client_secret = client_secrets.hash_client_secret(secret)
        return secret

    def check_secret(self, secret):
        return client_secrets.check_client_secret(secret, self.client_secret)

    # --- validation -------------------------------------------------------------------------
    def clean(self):
        super().clean()
        errors = {}
        unknown = set(self.allowed_grant_types) - set(GrantType.values)
        if unknown:
            errors["allowed_grant_types"] = f"Unknown grant types: {', '.join(sorted(unknown))}."
        elif not self.allowed_grant_types:
            errors["allowed_grant_types"] = "Allow at least one grant type."
        if REDIRECTING_GRANTS & set(self.allowed_grant_types) and not self.redirect_uris.split():
            errors["redirect_uris"] = "Authorization code and implicit clients need at least one redirect URI."
        if self.is_public:
            if self.token_endpoint_auth_method != ClientAuthMethod.NONE:
                errors["token_endpoint_auth_method"] = "A public client has no secret: use 'none'."
            if GrantType.CLIENT_CREDENTIALS in self.allowed_grant_types:
                errors["allowed_grant_types"] = "client_credentials needs a confidential client (RFC 6749 §4.4)."
        elif self.token_endpoint_auth_method == ClientAuthMethod.NONE:
            errors["token_endpoint_auth_method"] = "A confidential client must authenticate; 'none' is for public clients."
        errors.update(self._key_errors())
        if errors:
            raise ValidationError(errors)

    def _key_errors(self):
        """RFC 7517 / RFC 7523: registered keys must be usable public keys; JWT clients need one."""
        errors = {}
        if self.jwks in (None, "", []):
            self.jwks = {}
        if self.jwks:
            try:
                client_keys.parse_jwks(self.jwks)
            except client_keys.KeyProblem as problem:
                errors["jwks"] = str(problem)
        if self.certificate.strip():
            try:
                client_keys.parse_certificates(self.certificate)
            except client_keys.KeyProblem as problem:
                errors["certificate"] = str(problem)
        if self.jwks_uri and settings.ISSUER_IS_HTTPS and not self.jwks_uri.startswith("https://"):
            errors["jwks_uri"] = "The JWKS URI must be https:// when the server itself is https://."
        if not self.has_public_keys:
            if self.token_endpoint_auth_method == ClientAuthMethod.PRIVATE_KEY_JWT:
                errors.setdefault("jwks", "private_key_jwt needs the client's public keys: a JWKS, a JWKS URI or a certificate.")
            elif GrantType.JWT_BEARER in self.allowed_grant_types:
                errors.setdefault("jwks", "The JWT bearer grant needs the client's public keys: a JWKS, a JWKS URI or a certificate.")
        if self.is_public and GrantType.JWT_BEARER in self.allowed_grant_types:
            errors["allowed_grant_types"] = "The JWT bearer grant needs a confidential client (RFC 7523 §2.1)."
        return errors

    # --- operations -------------------------------------------------------------------------
    def revoke_all_tokens(self):
        """Revoke every access and refresh token issued to this client, and its authorization codes not yet
        exchanged. Returns how many access tokens. Batched SQL without pauses (token_cleanup): a client may
        hold millions, and this runs in an admin request. Each batch commits on its own (outside a
        transaction): a revocation cut short has revoked a part, and running it again finishes it."""
        from .token_cleanup import delete_in_batches, update_in_batches

        batch_size = oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_SIZE
        update_in_batches(RefreshToken.objects.filter(application=self, revoked__isnull=True), batch_size, 0,
                          revoked=timezone.now())
        revoked = delete_in_batches(get_access_token_model().objects.filter(application=self), batch_size, 0)
        delete_in_batches(get_grant_model().objects.filter(application=self), batch_size, 0)
        return revoked

    def disable(self):
        """Disable the client, then revoke everything it was issued; returns how many access tokens.

        Its tokens stop working as soon as `enabled` is off (committed first when called outside a
        transaction); revoking them means that enabling the client again (say, once its secret is
        regenerated) cannot bring back tokens that may have leaked with it.
        """
        self.enabled = False
        self.save(update_fields=["enabled", "updated"])
        return self.revoke_all_tokens()

    def enable(self):
        """Enable a disabled client; returns how many access tokens were revoked first (0 if it was enabled).

        A token request that read the client just before it was disabled can still write its token after
        disable() revoked the others. Nothing issued to a disabled client is legitimate, so everything
        still stored is revoked before the client comes back. An enabled client is left alone.
        """
        if not Client.objects.filter(pk=self.pk, enabled=False).exists():
            self.enabled = True
            return 0
        revoked = self.revoke_all_tokens()
        self.enabled = True
        self.save(update_fields=["enabled", "updated"])
        return revoked


@receiver(m2m_changed, sender=Client.allowed_scopes.through)
def forget_allowed_scope_names(sender, instance, **kwargs):
    """A client instance read its allowed scopes once; changing them through it must not leave it stale."""
    if isinstance(instance, Client):
        instance.__dict__.pop("_allowed_scope_names", None)


class ConsentQuerySet(models.QuerySet):
    def covering(self, user, client, scopes):
        """The consent of `user` for `client` if it already includes every one of `scopes`."""
        consent = self.filter(user=user, client=client).first()
        if consent and set(scopes) <= consent.scope_set:
            return consent
        return None


class Consent(models.Model):
    """A resource owner's standing approval of a client for some scopes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scope = models.TextField(help_text="Space-separated scope names.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="one_consent_per_user_and_client")]

    def __str__(self):
        return f"{self.user} → {self.client}: {self.scope}"

    @property
    def scope_set(self):
        return set(self.scope.split())


def consent_grant(*, user, client, scopes, request=None):
    """Record that `user` approved `client` for `scopes`, widening an earlier consent."""
    with transaction.atomic():
        consent, created = Consent.objects.select_for_update().get_or_create(
            user=user, client=client, defaults={"scope": " ".join(sorted(set(scopes)))}
        )
        if not created and not set(scopes) <= consent.scope_set:
            consent.scope = " ".join(sorted(consent.scope_set | set(scopes)))
            consent.save(update_fields=["scope", "updated"])
        audit.record(audit.Event.CONSENT_GRANTED, request=request, client=client, user=user, scopes=sorted(set(scopes)))
    return consent


@dataclass(frozen=True)
class ConsentRevocation:
    """What consent_revoke took away."""

    scopes: tuple  # of the consent removed; empty when there was none
    access_tokens: int
    refresh_tokens: int
    codes: int  # authorization codes issued but not yet exchanged

    @property
    def anything(self):
        return bool(self.scopes or self.access_tokens or self.refresh_tokens or self.codes)


def consent_revoke(*, user, client, request=None):
    """`user` withdraws `client`'s access: the consent, and every token and unused code of `client` for `user`.

    The client must ask for consent again; its tokens for this user fail at once (refresh tokens are
    marked revoked, access tokens deleted, as Client.revoke_all_tokens does). Other users' tokens stay.
    """
    AccessToken = get_access_token_model()
    with transaction.atomic():
        consent = Consent.objects.select_for_update().filter(user=user, client=client).first()
        scopes = tuple(sorted(consent.scope_set)) if consent else ()
        if consent:
            consent.delete()
        refresh = RefreshToken.objects.filter(user=user, application=client, revoked__isnull=True).update(
            revoked=timezone.now())
        _, deleted = AccessToken.objects.filter(user=user, application=client).delete()
        _, codes = get_grant_model().objects.filter(user=user, application=client).delete()
        revoked = ConsentRevocation(scopes=scopes, access_tokens=deleted.get(AccessToken._meta.label, 0),
                                    refresh_tokens=refresh, codes=codes.get(get_grant_model()._meta.label, 0))
        if scopes:
            audit.record(audit.Event.CONSENT_REVOKED, request=request, client=client, user=user, scopes=scopes,
                         detail="withdrawn by the user")
        if revoked.access_tokens or revoked.refresh_tokens or revoked.codes:
            audit.record(audit.Event.TOKEN_REVOKED, request=request, client=client, user=user,
                         detail=f"user withdrew consent: {revoked.access_tokens} access token(s), "
                                f"{revoked.refresh_tokens} refresh token(s), {revoked.codes} unused code(s)")
    return revoked


class UsedAuthorizationCode(models.Model):
    """An exchanged authorization code, kept so a replay can revoke what it issued (RFC 6749 §4.1.2)."""

    code_checksum = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    used_at = models.DateTimeField(auto_now_add=True)
    access_token_id = models.BigIntegerField(null=True)
    token_family = models.UUIDField(null=True)

    KEEP_FOR = timedelta(days=1)  # a replay after that is refused, but no longer revokes anything

    @classmethod
    def purge_old(cls, now=None):
        deleted, _ = cls.objects.filter(used_at__lt=(now or timezone.now()) - cls.KEEP_FOR).delete()
        return deleted

    def revoke_issued_tokens(self):
        with transaction.atomic():
            if self.token_family:
                RefreshToken.revoke_family(self.token_family)
            if self.access_token_id:
                get_access_token_model().objects.filter(pk=self.access_token_id).delete()


class UsedJTIManager(models.Manager):
    # Expired rows are deleted now and then by the requests themselves (no cron job needed).
    PURGE_PROBABILITY = 1 / 64

    def claim(self, issuer, jti, expires_at):
        """Record (issuer, jti) as used until `expires_at` (epoch seconds); False if it already is.

        One INSERT ... ON CONFLICT: the database's unique index decides, so of concurrent requests, in
        any number of processes, exactly one succeeds (RFC 7523 §3, rule 7). A jti whose assertion has
        expired may be used again (that assertion is refused by exp anyway): its row is taken over.
        """
        if random.random() < self.PURGE_PROBABILITY:
            self.purge_expired()
        return insert_once(
            UsedJTI,
            {"key": jti_key(issuer, jti), "expires_at": datetime.fromtimestamp(expires_at, tz=UTC),
             "used_at": timezone.now()},
            unique="key", reusable_before=("expires_at", timezone.now()),
        )

    def purge_expired(self):
        return self.filter(expires_at__lt=timezone.now()).delete()[0]


def jti_key(issuer, jti):
    """A used jti is stored as the SHA-256 of its issuer and itself: fixed length, nothing readable."""
    return hashlib.sha256(json.dumps([issuer, jti]).encode("utf-8")).hexdigest()


class UsedJTI(models.Model):
    """A JWT ID already presented in an assertion, kept until the assertion expires (RFC 7523 §3)."""

    key = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(auto_now_add=True)

    objects = UsedJTIManager()

    class Meta:
        verbose_name = "used JWT ID"


class SigningKeyQuerySet(models.QuerySet):
    def published(self, now=None):
        """Keys in the JWKS: the current one, and older ones until every token they signed has expired."""
        now = now or timezone.now()
        return self.filter(models.Q(is_current=True) | models.Q(retire_after__gt=now)).order_by("-created")


class SigningKey(models.Model):
    """A key this server signs JWTs with (RFC 7517). The private key is stored encrypted (signing_keys.py)."""

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=10, choices=[(a, a) for a in SERVER_SIGNING_ALGORITHMS])
    public_jwk = models.JSONField()
    private_key = models.TextField(editable=False, help_text="PKCS#8 PEM, Fernet-encrypted.")
    is_current = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    retire_after = models.DateTimeField(
        null=True, blank=True, help_text="No longer published after this time (every token it signed has expired)."
    )

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True),
                                    name="one_current_signing_key"),
        ]
        ordering = ["-created"]

    def __str__(self):
        return f"{self.kid} ({self.algorithm}{', current' if self.is_current else ''})"
