"""/healthz, /readyz and /metrics. ops.middleware.OpsMiddleware answers the same paths before the rest of
the middleware (so probes do not depend on ALLOWED_HOSTS or the HTTPS redirect); these routes serve them
when that middleware is not installed."""

from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
