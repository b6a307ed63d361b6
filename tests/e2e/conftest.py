"""A real server process for end-to-end tests: gunicorn on a free 127.0.0.1 port, its own database, demo data.

On PostgreSQL (CI) the database is a fresh one on the same server as the test database; on SQLite a
file in a temporary directory. The tests speak to it over HTTP only.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class E2EDatabase:
    """A database of its own for the server process, on the same engine as the test run."""

    def __init__(self, tmp):
        db = settings.DATABASES["default"]
        self.postgres = "postgresql" in db["ENGINE"]
        if self.postgres:
            self.admin = dict(host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432,
                              user=db.get("USER") or "postgres", password=db.get("PASSWORD") or None)
            self.name = f"e2e_{os.getpid()}_{secrets.token_hex(3)}"
            self._execute(f'CREATE DATABASE "{self.name}"')
            auth = self.admin["user"] + (f":{self.admin['password']}" if self.admin["password"] else "")
            self.url = f"postgres://{auth}@{self.admin['host']}:{self.admin['port']}/{self.name}"
        else:
            self.url = f"sqlite:///{tmp / 'e2e.sqlite3'}"

    def _execute(self, sql):
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self.admin) as conn:
            conn.execute(sql)

    def drop(self):
        if self.postgres:
            self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def start_server(env, port, log_path, workers=2):
    log = open(log_path, "a")
    process = subprocess.Popen([str(GUNICORN), "-c", "config/gunicorn.conf.py", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
                                "--graceful-timeout", "5"],
                               cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start-up: {Path(log_path).read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url + "/.well-known/oauth-authorization-server", timeout=2)
            return process
        except Exception:
            time.sleep(0.25)
    process.kill()
    raise RuntimeError("the server did not answer within 30 s")


def stop_server(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory, django_db_blocker):
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with django_db_blocker.unblock():
        database = E2EDatabase(tmp)
    credentials = tmp / "demo-clients.json"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=database.url, SECRET_KEY=secrets.token_urlsafe(50), DEBUG="0", OAUTH_ISSUER=url,
               ALLOWED_HOSTS="127.0.0.1,localhost", DEMO_CLIENTS_FILE=str(credentials), OAUTHLIB_INSECURE_TRANSPORT="1")
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["seed_demo", "--force"]):
        done = subprocess.run(manage + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            database.drop()
            raise RuntimeError(f"manage.py {command[0]} failed:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}")
    process = start_server(env, port, tmp / "server.log")
    try:
        yield SimpleNamespace(url=url, credentials=credentials, env=env, log=tmp / "server.log", port=port)
    finally:
        stop_server(process)
        database.drop()
