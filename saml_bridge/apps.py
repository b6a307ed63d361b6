from django.apps import AppConfig


class SamlBridgeConfig(AppConfig):
    name = "saml_bridge"
    verbose_name = "SAML bridge"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from . import xml_schema

        xml_schema.install()  # pysaml2's schema check by libxml2 (saml_bridge/xml_schema.py)
