"""Shared by the hardening tests: the short/long switch, and real gunicorn servers on databases of their own.

Every test here has a short form (run by `make test`) and a long form (LONG_TESTS=1). The servers are the
production stack (gunicorn, several workers, DEBUG off) on 127.0.0.1 only, each on a copy of one database
that is migrated and seeded once per test session (PostgreSQL: CREATE DATABASE ... TEMPLATE; SQLite: a
file copy), reusing tests/e2e's E2EDatabase, start_server and stop_server.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from tests.e2e.conftest import ROOT, E2EDatabase, free_port, start_server, stop_server

LONG = os.environ.get("LONG_TESTS") == "1"


def scaled(short, long):
    """The short-form value, or the long-form one under LONG_TESTS=1."""
    return long if LONG else short


def on_postgresql():
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


POSTGRESQL_ONLY = ("needs PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises writers, so it proves nothing "
                   "about concurrency, and several gunicorn workers writing one SQLite file fail with 'database is locked'")


def skip_unless_postgresql():
    """Call at the top of a module: skips the whole module (one line in the report) on SQLite."""
    if not on_postgresql():
        pytest.skip(POSTGRESQL_ONLY, allow_module_level=True)


SETUP_SCRIPT = """
import json, sys
import django
django.setup()
from django.core.management import call_command
from oauth_server.constants import GrantType
call_command("migrate", "--noinput", verbosity=0)
call_command("seed_demo", "--force", verbosity=0)
extra = json.loads(sys.argv[1])
if extra.get("idp_metadata"):
    call_command("importidp", extra["idp_metadata"], verbosity=0)
    from oauth_server.registration import client_register
    from oauth_server.models import Client
    Client.objects.filter(client_id="hardening-saml").delete()
    client, secret = client_register(name="SAML partner (hardening tests)", client_id="hardening-saml",
                                     grant_types=[GrantType.SAML2_BEARER], scopes=["photos", "userinfo/readonly"])
    print(json.dumps({"client_id": client.client_id, "client_secret": secret}))
"""


class ServerDatabase:
    """A copy of the session's seeded template database, for the servers of one test module."""

    def __init__(self, template, tmp):
        self.template = template
        if template.postgres:
            self.name = f"{template.name}_{secrets.token_hex(3)}"
            template._execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{template.name}"')
            self.url = template.url.rsplit("/", 1)[0] + "/" + self.name
        else:
            path = tmp / f"server-{secrets.token_hex(3)}.sqlite3"
            shutil.copyfile(template.path, path)
            self.path, self.url = path, f"sqlite:///{path}"

    def connect(self):
        if self.template.postgres:
            import psycopg

            return psycopg.connect(dbname=self.name, autocommit=True, **self.template.admin)
        import sqlite3

        return sqlite3.connect(self.path, isolation_level=None)

    def query(self, sql, params=()):
        if not self.template.postgres:
            sql = sql.replace("%s", "?")
        connection = self.connect()
        try:
            return list(connection.execute(sql, params).fetchall())
        finally:
            connection.close()

    def drop(self):
        if self.template.postgres:
            self.template._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def hardening_template(tmp_path_factory, django_db_blocker, _acme_signer):
    """One migrated, seeded database (demo users and clients, the acme SAML IdP and a SAML client)."""
    tmp = tmp_path_factory.mktemp("hardening")
    with django_db_blocker.unblock():
        database = E2EDatabase(tmp)
    database.path = tmp / "e2e.sqlite3"
    credentials = tmp / "demo-clients.json"
    metadata = tmp / "acme-idp-metadata.xml"
    metadata.write_text(_acme_signer.metadata_xml())
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=database.url,
               SECRET_KEY=secrets.token_urlsafe(50), DEBUG="0", ALLOWED_HOSTS="127.0.0.1,localhost",
               DEMO_CLIENTS_FILE=str(credentials), OAUTHLIB_INSECURE_TRANSPORT="1", LOG_LEVEL="WARNING")
    done = subprocess.run([sys.executable, "-c", SETUP_SCRIPT, json.dumps({"idp_metadata": str(metadata)})],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        database.drop()
        raise RuntimeError(f"setting up the hardening database failed:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}")
    demo = json.loads(credentials.read_text())
    saml_client = json.loads(done.stdout.strip().splitlines()[-1])
    try:
        yield SimpleNamespace(database=database, env=env, clients=demo["clients"], users=demo["users"],
                              saml_client=saml_client, tmp=tmp)
    finally:
        database.drop()


class Server:
    """A gunicorn server (several workers) on a ServerDatabase; restartable on the same port."""

    def __init__(self, template, database, tmp, *, workers=3, issuer=None, port=None, **env):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = issuer or self.url
        self.token = self.url + "/oauth/token"
        self.audience = self.issuer + "/oauth/token"  # what JWT and SAML assertions are addressed to
        self.database, self.workers = database, workers
        self.log = tmp / f"server-{self.port}.log"
        self.env = dict(template.env, DATABASE_URL=database.url, OAUTH_ISSUER=self.issuer, **env)
        self.process = None

    def endpoint(self, path):
        return self.url + path

    def start(self):
        self.process = start_server(self.env, self.port, self.log, workers=self.workers)
        return self

    def stop(self):
        if self.process is not None:
            stop_server(self.process)
            self.process = None

    def restart(self):
        self.stop()
        return self.start()

    def log_tail(self, chars=6000):
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@pytest.fixture(scope="module")
def server_database(hardening_template, tmp_path_factory):
    database = ServerDatabase(hardening_template.database, tmp_path_factory.mktemp("server-db"))
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture(scope="module")
def start_servers(hardening_template, server_database, tmp_path_factory):
    """start_servers(n, **options) -> [Server, ...]: gunicorn servers on this module's database, stopped at the end."""
    started = []
    tmp = tmp_path_factory.mktemp("servers")

    def start(count=1, **options):
        servers = [Server(hardening_template, server_database, tmp, **options).start() for _ in range(count)]
        started.extend(servers)
        return servers

    try:
        yield start
    finally:
        stopping = [threading.Thread(target=server.stop) for server in started]  # in parallel: each takes a while
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
