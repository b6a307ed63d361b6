from django.apps import AppConfig


class OAuthServerConfig(AppConfig):
    name = "oauth_server"
    verbose_name = "OAuth server"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
