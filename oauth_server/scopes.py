"""django-oauth-toolkit's scopes backend, backed by the Scope registry and each client's allowed scopes."""

from oauth2_provider.scopes import BaseScopes

from .models import Scope


class DatabaseScopes(BaseScopes):
    def get_all_scopes(self):
        return dict(Scope.objects.values_list("name", "description"))

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return list(Scope.objects.values_list("name", flat=True))
        return list(application.allowed_scope_names())

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return []
        return application.default_scope_names()
