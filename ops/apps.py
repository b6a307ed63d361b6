from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations: health, readiness and metrics"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
