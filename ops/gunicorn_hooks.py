"""gunicorn server hooks for prometheus-client's multiprocess mode (several workers, one /metrics).

With PROMETHEUS_MULTIPROC_DIR set in gunicorn's environment, every worker writes its samples to files in
that directory and /metrics adds them up (ops/metrics.py). The gunicorn config imports these hooks:

    from ops.gunicorn_hooks import child_exit, on_starting  # noqa: F401

- on_starting (the master, once, before any worker): create the directory and empty it, so samples of a
  previous run's workers are not added to this run's (prometheus-client requires a clean directory);
- child_exit (the master, when a worker exits): tell prometheus-client the worker is gone.
Without PROMETHEUS_MULTIPROC_DIR both do nothing.
"""

import os
from pathlib import Path


def _multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    directory = _multiprocess_dir()
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # only prometheus-client's files, whatever else the directory holds
        stale.unlink()


def child_exit(server, worker):
    if _multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
