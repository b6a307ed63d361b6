"""gunicorn settings for production:  gunicorn -c python:ops.gunicorn_config config.wsgi

Each value can still be overridden on the command line or in GUNICORN_CMD_ARGS. Read from the environment:
  GUNICORN_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2 x CPUs + 1),
  GUNICORN_TIMEOUT (seconds a worker may spend on one request, default 30),
  PROMETHEUS_MULTIPROC_DIR (metrics of every worker; emptied here when the server starts).
"""

import multiprocessing
import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"  # one request per worker at a time; the TLS proxy buffers slow clients
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5  # seconds; keep it below the proxy's upstream keep-alive timeout
# Recycle workers now and then (memory growth in any library); jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 10000))
max_requests_jitter = max_requests // 10
# gunicorn would itself set the request scheme from X-Forwarded-Proto sent by 127.0.0.1 (its default): trust
# nobody here, and let Django decide alone (TRUSTED_PROXIES + SECURE_PROXY_SSL_HEADER, which accept CIDRs).
forwarded_allow_ips = ""
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
# Access log without the query string: authorization requests carry state and codes in it.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


def _multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    """Empty the metrics directory: samples of a previous run's workers must not be added to ours."""
    directory = _multiprocess_dir()
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A worker is gone: its live gauges stop counting (its counters and histograms are kept)."""
    if _multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
