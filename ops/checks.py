"""Start-up checks for the operations settings (`manage.py check`, `migrate`, ...; OpsMiddleware also refuses a bad
METRICS_ALLOWED_IPS when a worker starts)."""

import ipaddress
import os

from django.conf import settings
from django.core.checks import Error, Warning, register

from .metrics import multiprocess_dir

MIN_METRICS_TOKEN_LENGTH = 24


@register()
def check_operations_settings(app_configs, **kwargs):
    problems = []
    for value in getattr(settings, "METRICS_ALLOWED_IPS", []):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            problems.append(Error(f"METRICS_ALLOWED_IPS: {value!r} is not an IP address or network.",
                                  hint="Use addresses or CIDRs, comma-separated, e.g. 127.0.0.1,::1,10.0.0.0/8.",
                                  id="ops.E001"))
    directory = multiprocess_dir()
    if directory and not (os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)):
        problems.append(Error(f"PROMETHEUS_MULTIPROC_DIR ({directory}) is not a writable directory.",
                              hint="Create it, empty, before gunicorn starts (ops.gunicorn_hooks.on_starting does).",
                              id="ops.E002"))
    token = getattr(settings, "METRICS_TOKEN", "")
    if token and len(token) < MIN_METRICS_TOKEN_LENGTH:
        problems.append(Warning(f"METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN_LENGTH} characters.",
                                hint="Use a random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
                                id="ops.W001"))
    return problems
