"""gunicorn settings shared by `make run`, the tests' servers and production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

The access log leaves out query strings and the Referer: both can carry tokens or authorization codes
(tokeninfo's `access_token`, a client's callback URL).
"""

import os

from ops.gunicorn_hooks import child_exit, on_starting  # noqa: F401  (Prometheus multiprocess bookkeeping)

workers = int(os.environ.get("WEB_CONCURRENCY", os.environ.get("WORKERS", "2")))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
# X-Forwarded-Proto is Django's business (TRUSTED_PROXIES); gunicorn would trust it from 127.0.0.1.
forwarded_allow_ips = ""
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss "%(a)s"'
