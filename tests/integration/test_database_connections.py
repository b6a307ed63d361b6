"""Persistent PostgreSQL connections: a connection that died while idle is replaced before it is used.

config/postgresql/base.py pings (Django's CONN_HEALTH_CHECKS) only connections idle for
DATABASE_HEALTH_CHECK_IDLE_SECONDS or more since their last query. Each test plays requests by calling what Django calls when a
request starts and ends, and kills the connection's server process from another connection.
"""

import time

import psycopg
import pytest
from django.db import OperationalError, connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="persistent connections are a PostgreSQL matter"),
]


def kill_server_process_of(conn):
    params = conn.get_connection_params()
    params = {k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")}
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [conn.connection.info.backend_pid])


def request_boundary():
    connection.close_if_unusable_or_obsolete()  # what request_started / request_finished run


def query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_a_connection_killed_while_idle_is_replaced_and_the_request_succeeds(settings):
    settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS = 0.2
    query()
    request_boundary()  # the first request ends
    kill_server_process_of(connection)
    time.sleep(0.3)
    request_boundary()  # the next request starts after the connection was idle
    assert query() == 1


def test_a_connection_idle_during_a_long_request_is_checked_at_the_next_request(settings):
    settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS = 0.2
    query()  # a request queries first, then spends its time elsewhere (e.g. streaming from an upstream)
    time.sleep(0.3)
    kill_server_process_of(connection)
    request_boundary()  # it ends now, but the connection has been idle since its query
    request_boundary()
    assert query() == 1


def test_a_connection_killed_right_after_a_request_fails_one_request_then_is_replaced(settings):
    settings.DATABASE_HEALTH_CHECK_IDLE_SECONDS = 60
    query()
    request_boundary()
    kill_server_process_of(connection)
    request_boundary()  # not pinged: it was used a moment ago
    with pytest.raises(OperationalError):
        query()
    request_boundary()  # that request ends: Django drops the failed connection
    request_boundary()
    assert query() == 1
