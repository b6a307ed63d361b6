from django.apps import AppConfig


class SamlBridgeConfig(AppConfig):
    name = "saml_bridge"
    verbose_name = "SAML bridge"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
