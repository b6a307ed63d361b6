"""Startup checks: configuration mistakes surface at `manage.py check` / server start, not at the first request."""

from django.conf import settings
from django.core.checks import Error, register

from .constants import SERVER_SIGNING_ALGORITHMS


@register()
def jwt_settings(app_configs, **kwargs):
    errors = []
    if settings.JWT_SIGNING_ALGORITHM not in SERVER_SIGNING_ALGORITHMS:
        errors.append(Error(
            f"JWT_SIGNING_ALGORITHM is {settings.JWT_SIGNING_ALGORITHM!r}.",
            hint=f"Use one of {', '.join(SERVER_SIGNING_ALGORITHMS)}.", id="oauth_server.E001",
        ))
    for name in ("JWT_ASSERTION_MAX_BYTES", "JWT_ASSERTION_MAX_AGE_SECONDS", "JWT_ASSERTION_MAX_LIFETIME_SECONDS",
                 "JWKS_FETCH_TIMEOUT", "JWKS_FETCH_MAX_BYTES", "JWKS_CACHE_SECONDS"):
        if getattr(settings, name) <= 0:
            errors.append(Error(f"{name} must be positive.", id="oauth_server.E002"))
    if settings.JWT_CLOCK_SKEW_SECONDS < 0 or settings.JWT_CLOCK_SKEW_SECONDS > 600:
        errors.append(Error("JWT_CLOCK_SKEW_SECONDS must be between 0 and 600.", id="oauth_server.E003"))
    return errors
