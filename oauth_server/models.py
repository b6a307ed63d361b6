"""Clients, scopes and consents: who may ask for what, and what users agreed to."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils import timezone
from oauth2_provider.models import AbstractApplication, RefreshToken, get_access_token_model

from . import client_secrets
from .constants import DOT_GRANT_ALIASES, REDIRECTING_GRANTS, ClientAuthMethod, GrantType

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


class Client(AbstractApplication):
    """An OAuth client. Unlike DOT's Application it may be allowed several grant types."""

    # DOT's single-grant field (44 characters: too short for the SAML URN) is unused.
    authorization_grant_type = models.CharField(max_length=44, blank=True, default="", editable=False)
    # Only our HMAC of the secret is stored; see client_secrets.py.
    client_secret = models.CharField(max_length=255, blank=True, default="", editable=False)
    hash_client_secret = models.BooleanField(default=False, editable=False)

    description = models.TextField(blank=True)
    logo_url = models.URLField(blank=True)
    contact_email = models.EmailField(blank=True)
    enabled = models.BooleanField(
        default=True, help_text="A disabled client cannot authenticate and its tokens stop working."
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

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = "client"

    # --- policy ---------------------------------------------------------------------------
    def allows_grant_type(self, *grant_types):
        return any(DOT_GRANT_ALIASES.get(g, g) in self.allowed_grant_types for g in grant_types)

    def is_usable(self, request):
        return self.enabled

    @property
    def is_public(self):
        return self.client_type == self.CLIENT_PUBLIC

    def allowed_scope_names(self):
        return {s.name for s in self.allowed_scopes.all()}

    def default_scope_names(self):
        return [s.name for s in self.default_scopes.all()]

    def access_token_expires_in(self):
        return self.access_token_lifetime or settings.ACCESS_TOKEN_EXPIRE_SECONDS

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
        if errors:
            raise ValidationError(errors)

    # --- operations -------------------------------------------------------------------------
    def revoke_all_tokens(self):
        """Revoke every access and refresh token issued to this client. Returns how many access tokens."""
        with transaction.atomic():
            RefreshToken.objects.filter(application=self, revoked__isnull=True).update(revoked=timezone.now())
            deleted, _ = get_access_token_model().objects.filter(application=self).delete()
        return deleted


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


def consent_grant(*, user, client, scopes):
    """Record that `user` approved `client` for `scopes`, widening an earlier consent."""
    with transaction.atomic():
        consent, created = Consent.objects.select_for_update().get_or_create(
            user=user, client=client, defaults={"scope": " ".join(sorted(set(scopes)))}
        )
        if not created and not set(scopes) <= consent.scope_set:
            consent.scope = " ".join(sorted(consent.scope_set | set(scopes)))
            consent.save(update_fields=["scope", "updated"])
    return consent


class UsedAuthorizationCode(models.Model):
    """An exchanged authorization code, kept so a replay can revoke what it issued (RFC 6749 §4.1.2)."""

    code_checksum = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    used_at = models.DateTimeField(auto_now_add=True)
    access_token_id = models.BigIntegerField(null=True)
    token_family = models.UUIDField(null=True)

    KEEP_FOR = timedelta(days=1)

    def revoke_issued_tokens(self):
        with transaction.atomic():
            if self.token_family:
                RefreshToken.revoke_family(self.token_family)
            if self.access_token_id:
                get_access_token_model().objects.filter(pk=self.access_token_id).delete()
