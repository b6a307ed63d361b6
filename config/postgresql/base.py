"""Django's PostgreSQL backend with the connection health check skipped for connections just used.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request that reuses a
persistent connection: a whole round trip, 12-13 % of a token check's time (bench/README.md). The check
is there for connections that died while idle (a database restart, an idle timeout on the way). Here it
runs only when the connection's last query is DATABASE_HEALTH_CHECK_IDLE_SECONDS (default 1) or more
ago; a connection a previous request used a moment ago is used as is. If it did break in that moment,
the query fails, that request gets an error, and Django closes the connection when the request ends
(as it does for any failed connection), so the next request opens a new one.
"""

import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    last_used = None  # time.monotonic() of the last cursor made for a query

    def create_cursor(self, name=None):
        self.last_used = time.monotonic()
        return super().create_cursor(name)

    def close_if_unusable_or_obsolete(self):
        # Django calls this when each request starts (and ends); it asks for a health check next time.
        super().close_if_unusable_or_obsolete()
        threshold = getattr(settings, "DATABASE_HEALTH_CHECK_IDLE_SECONDS", 1.0)
        if self.connection is not None and self.last_used is not None and time.monotonic() - self.last_used < threshold:
            self.health_check_done = True

    def close(self):
        super().close()
        self.last_used = None
