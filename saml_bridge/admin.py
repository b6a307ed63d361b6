"""Trusted identity providers in Django admin: upload or paste metadata, or paste PEM certificates."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html_join

from . import certificates, registry
from .models import TrustedIdentityProvider

UPLOAD_MAX_BYTES = 1024 * 1024


class TrustedIdentityProviderForm(forms.ModelForm):
    metadata_file = forms.FileField(
        required=False, label="Upload metadata",
        help_text="The IdP's SAML metadata XML. Its entity ID and signing certificates replace the fields below.",
    )

    class Meta:
        model = TrustedIdentityProvider
        fields = "__all__"
        widgets = {
            "signing_certificates": forms.Textarea(attrs={"rows": 8, "cols": 80, "style": "font-family: monospace"}),
            "metadata_xml": forms.Textarea(attrs={"rows": 8, "cols": 80, "style": "font-family: monospace"}),
        }
        help_texts = {
            "metadata_xml": "Or paste the metadata here: when it changes, the entity ID and signing certificates "
                            "are taken from it.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "entity_id", "signing_certificates"):  # may come from the metadata
            if name in self.fields:
                self.fields[name].required = False

    def clean_metadata_file(self):
        upload = self.cleaned_data.get("metadata_file")
        if upload and upload.size > UPLOAD_MAX_BYTES:
            raise ValidationError(f"The metadata file is larger than {UPLOAD_MAX_BYTES // 1024} KiB.")
        return upload

    def clean(self):
        cleaned = super().clean()
        source, data = self._metadata_input(cleaned)
        if data is not None:
            self._take_from_metadata(cleaned, source, data)
        if not cleaned.get("entity_id") and "entity_id" not in self.errors:
            self.add_error("entity_id", "Enter the IdP's entity ID, or upload or paste its metadata.")
        if not (cleaned.get("signing_certificates") or "").strip() and "signing_certificates" not in self.errors:
            self.add_error("signing_certificates", "Paste at least one PEM certificate, or upload or paste metadata.")
        if not cleaned.get("name"):
            cleaned["name"] = (cleaned.get("entity_id") or "")[:200]
        return cleaned

    def _metadata_input(self, cleaned):
        upload = cleaned.get("metadata_file")
        if upload:
            return "metadata_file", upload.read()
        if "metadata_xml" in self.changed_data and (cleaned.get("metadata_xml") or "").strip():
            return "metadata_xml", cleaned["metadata_xml"]
        return None, None

    def _take_from_metadata(self, cleaned, source, data):
        typed = (cleaned.get("entity_id") or "").strip()
        try:
            meta = registry.parse_idp_metadata(data, entity_id=typed if not self.instance.pk else None)
        except ValidationError as e:
            self.add_error(source, e)
            return
        if self.instance.pk and meta.entity_id != self.instance.entity_id:
            self.add_error(source, f"This metadata is for {meta.entity_id}, not {self.instance.entity_id}: "
                                   "add a new identity provider for it instead.")
            return
        cleaned.update(entity_id=meta.entity_id, signing_certificates="".join(meta.certificates), metadata_xml=meta.xml)
        cleaned["name"] = cleaned.get("name") or meta.name


@admin.register(TrustedIdentityProvider)
class TrustedIdentityProviderAdmin(admin.ModelAdmin):
    form = TrustedIdentityProviderForm
    list_display = ("name", "entity_id", "enabled", "username_source", "auto_provision", "first_expiry", "updated")
    list_filter = ("enabled", "auto_provision", "username_source")
    search_fields = ("name", "entity_id")
    filter_horizontal = ("allowed_clients",)
    readonly_fields = ("certificate_summary", "created", "updated")
    actions = ["enable", "disable"]
    fieldsets = (
        (None, {"fields": ("name", "entity_id", "enabled")}),
        ("Signing keys", {"fields": ("metadata_file", "metadata_xml", "signing_certificates", "certificate_summary")}),
        ("Users", {"fields": ("username_source", "username_attribute", "email_attribute", "auto_provision")}),
        ("Clients", {"fields": ("allowed_clients",)}),
        ("History", {"fields": ("created", "updated")}),
    )

    @admin.display(description="certificates")
    def certificate_summary(self, idp):
        try:
            parsed = certificates.load_certificates(idp.signing_certificates)
        except ValidationError as e:
            return " ".join(e.messages)
        return format_html_join("", "<div>{}</div>", ((certificates.describe(c),) for c in parsed))

    @admin.display(description="first certificate expiry")
    def first_expiry(self, idp):
        try:
            return min(c.not_valid_after_utc for c in certificates.load_certificates(idp.signing_certificates)).date()
        except ValidationError:
            return "invalid"

    @admin.action(description="Enable the selected identity providers")
    def enable(self, request, queryset):
        count = queryset.update(enabled=True, updated=timezone.now())
        self.message_user(request, f"Enabled {count} identity provider(s).", messages.SUCCESS)

    @admin.action(description="Disable the selected identity providers (their assertions are refused)")
    def disable(self, request, queryset):
        count = queryset.update(enabled=False, updated=timezone.now())
        self.message_user(request, f"Disabled {count} identity provider(s).", messages.SUCCESS)
