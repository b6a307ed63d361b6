"""Client registration, scopes and consents in Django admin.

django-oauth-toolkit registers the client model with ClientAdmin (its APPLICATION_ADMIN_CLASS
setting points here), and its own token and grant admins, which are searchable by client and user.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

import audit

from .constants import AccessTokenFormat, ClientAuthMethod, GrantType
from .models import Client, Consent, Scope, SigningKey


class OptionalJSONField(forms.JSONField):
    """An empty box, not `null` or `{}`, when there is nothing yet."""

    def prepare_value(self, value):
        return "" if value in (None, {}) else super().prepare_value(value)


class ClientForm(forms.ModelForm):
    allowed_grant_types = forms.MultipleChoiceField(
        choices=GrantType.choices, widget=forms.CheckboxSelectMultiple,
        help_text="A request for any other grant gets unauthorized_client.",
    )
    jwks = OptionalJSONField(
        required=False, label="JWKS", widget=forms.Textarea(attrs={"rows": 8, "cols": 90}),
        error_messages={"invalid": 'The JWKS is not valid JSON. It looks like {"keys": [{"kty": "RSA", ...}]}.'},
        help_text=Client._meta.get_field("jwks").help_text,
    )
    access_token_format = forms.ChoiceField(
        choices=AccessTokenFormat.choices, required=False, initial=AccessTokenFormat.OPAQUE,
        help_text=Client._meta.get_field("access_token_format").help_text,
    )

    class Meta:
        model = Client
        fields = "__all__"

    def clean_jwks(self):
        return self.cleaned_data.get("jwks") or {}

    def clean(self):
        cleaned = super().clean()
        # A public client has no secret: unless the admin chose a method, it authenticates with "none".
        if (cleaned.get("client_type") == Client.CLIENT_PUBLIC
                and "token_endpoint_auth_method" not in self.changed_data):
            cleaned["token_endpoint_auth_method"] = ClientAuthMethod.NONE
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # A private key pasted by mistake is refused (Client.clean) and not sent back in the page.
        for field in ("jwks", "certificate"):
            if field in self.errors and "private key" in " ".join(self.errors[field]):
                self.data = self.data.copy()
                self.data[field] = ""

    def clean_access_token_format(self):
        return self.cleaned_data.get("access_token_format") or AccessTokenFormat.OPAQUE


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name", "description")


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "client", "scope", "created", "updated")
    list_filter = ("client",)
    search_fields = ("user__username", "user__email", "client__name", "client__client_id")
    raw_id_fields = ("user",)
    date_hierarchy = "updated"


def show_secret(request, client, secret, action):
    response = render(request, "admin/oauth_server/client/secret.html", {
        "client": client, "secret": secret, "action": action, "opts": Client._meta,
        "change_url": reverse("admin:oauth_server_client_change", args=[client.pk]),
        "title": f"Client secret for {client}",
    })
    response["Cache-Control"] = "no-store"
    return response


class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    view_on_site = False  # DOT's get_absolute_url points at its own management views, not installed here
    list_display = ("name", "client_id", "client_type", "grant_types", "enabled", "created")
    list_filter = ("enabled", "client_type", "token_endpoint_auth_method")
    search_fields = ("name", "client_id", "contact_email")
    filter_horizontal = ("allowed_scopes", "default_scopes")
    readonly_fields = ("client_id", "created", "updated")
    raw_id_fields = ("user",)
    change_form_template = "admin/oauth_server/client/change_form.html"
    actions = ["disable_clients", "enable_clients", "revoke_tokens"]
    fieldsets = (
        (None, {"fields": ("name", "client_id", "description", "logo_url", "contact_email", "enabled")}),
        ("OAuth", {"fields": (
            "client_type", "token_endpoint_auth_method", "allowed_grant_types", "redirect_uris",
            "allowed_scopes", "default_scopes", "skip_authorization",
        )}),
        ("Keys (private_key_jwt, JWT bearer grant)", {
            "description": "The client's PUBLIC keys, in any of these forms. Never paste a private key.",
            "fields": ("jwks", "jwks_uri", "certificate"),
        }),
        ("Tokens", {"fields": ("access_token_format", "access_token_lifetime", "refresh_token_lifetime",
                               "may_introspect_any_token")}),
        ("More", {"classes": ("collapse",), "fields": (
            "user", "post_logout_redirect_uris", "allowed_origins", "algorithm", "created", "updated",
        )}),
    )

    @admin.display(description="grant types")
    def grant_types(self, client):
        return ", ".join(client.allowed_grant_types)

    def save_model(self, request, obj, form, change):
        if not obj.uses_secret:
            obj.client_secret = ""  # a private_key_jwt (or public) client has no secret to leak
        elif not change:
            request.new_client_secret = obj.set_new_secret()
        switched = change and "enabled" in form.changed_data
        if switched and obj.enabled:
            # Enabling: revoke first, in the same transaction, what a request racing the disable wrote
            # (Client.enable says why).
            self._tokens_revoked(request, obj, obj.revoke_all_tokens(), "enabling")
        super().save_model(request, obj, form, change)
        audit.record(audit.Event.CLIENT_CHANGED if change else audit.Event.CLIENT_CREATED, request=request,
                     client=obj, user=request.user,
                     detail=f"in admin: {', '.join(form.changed_data)}" if change else "in admin")
        if switched and not obj.enabled:
            # Disabling: the switch commits with the form (admin's transaction); revoking, which may take a
            # while for a client with millions of tokens, runs after that (Client.disable says why).
            transaction.on_commit(
                lambda: self._tokens_revoked(request, obj, obj.revoke_all_tokens(), "disabling"))

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "new_client_secret", None)
        if secret:
            return show_secret(request, obj, secret, "created")
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self):
        extra = [
            path("<int:pk>/regenerate-secret/", self.admin_site.admin_view(self.regenerate_secret),
                 name="oauth_server_client_regenerate_secret"),
        ]
        return extra + super().get_urls()

    def regenerate_secret(self, request, pk):
        client = get_object_or_404(Client, pk=pk)
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        if client.is_public:
            messages.error(request, "A public client has no secret.")
            return render(request, "admin/oauth_server/client/confirm_regenerate.html",
                          {"client": client, "opts": Client._meta, "public": True})
        if not client.uses_secret:
            messages.error(request, "This client authenticates with private_key_jwt: it has no secret. "
                                    "Change its keys instead.")
            return redirect("admin:oauth_server_client_change", client.pk)
        if request.method != "POST":
            return render(request, "admin/oauth_server/client/confirm_regenerate.html",
                          {"client": client, "opts": Client._meta, "title": "Regenerate secret"})
        secret = client.set_new_secret()
        client.save(update_fields=["client_secret", "updated"])
        self.log_change(request, client, "Regenerated the client secret.")
        audit.record(audit.Event.CLIENT_CHANGED, request=request, client=client, user=request.user,
                     detail="in admin: client secret regenerated")
        return show_secret(request, client, secret, "regenerated")

    @admin.action(description="Disable selected clients and revoke their tokens")
    def disable_clients(self, request, queryset):
        self._switch(request, queryset, Client.disable, "disabled")

    @admin.action(description="Enable selected clients")
    def enable_clients(self, request, queryset):
        self._switch(request, queryset, Client.enable, "enabled")

    def _switch(self, request, queryset, switch, done):
        enabling = switch is Client.enable
        # Before any change (the admin's filter may be on `enabled`); clients already so are left alone.
        clients = [client for client in queryset if client.enabled != enabling]
        if not enabling:  # every selected client stops working at once, before any revocation starts
            queryset.filter(pk__in=[client.pk for client in clients]).update(enabled=False)
        for client in clients:
            audit.record(audit.Event.CLIENT_CHANGED, request=request, client=client, user=request.user,
                         detail=f"in admin: {done}")
            self._tokens_revoked(request, client, switch(client), "enabling" if enabling else "disabling")
        self.message_user(request, f"{done.capitalize()} {len(clients)} client(s).")

    def _tokens_revoked(self, request, client, revoked, when):
        """Record and show what enabling or disabling a client revoked, when it revoked anything."""
        if not revoked:
            return
        audit.record(audit.Event.TOKEN_REVOKED, request=request, client=client, user=request.user,
                     detail=f"in admin: all tokens of the client, on {when} it ({revoked} access token(s), "
                            "their refresh tokens and unused authorization codes)")
        self.message_user(request, f"{client.name}: revoked {revoked} access token(s) and their refresh "
                                   "tokens.", messages.WARNING)

    @admin.action(description="Revoke all tokens of selected clients")
    def revoke_tokens(self, request, queryset):
        total = 0
        for client in queryset:
            revoked = client.revoke_all_tokens()
            total += revoked
            audit.record(audit.Event.TOKEN_REVOKED, request=request, client=client, user=request.user,
                         detail=f"in admin: all tokens of the client ({revoked} access token(s), their "
                                "refresh tokens and unused authorization codes)")
        self.message_user(request, format_html("Revoked {} access token(s), their refresh tokens and unused "
                                               "authorization codes.", total))


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """The server's signing keys, read-only: `manage.py rotatekeys` makes and retires them."""

    list_display = ("kid", "algorithm", "is_current", "created", "retire_after")
    fields = ("kid", "algorithm", "is_current", "created", "retire_after", "public_jwk")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # `rotatekeys --retire` refuses to break tokens that are still valid; admin would not
