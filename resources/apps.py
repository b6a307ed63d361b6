from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"
    verbose_name = "Resource server and gateway"

    def ready(self):
        # Registers the OpenAPI description of our bearer-token authentication with drf-spectacular.
        from . import schema  # noqa: F401
