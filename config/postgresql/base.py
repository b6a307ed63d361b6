"""Django's PostgreSQL backend with the connection health check skipped for connections just used.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request that reuses a
persistent connection: a whole round trip, 12-13 % of a token check's time (bench/README.md). The check
is there for connections that died while idle (a database restart, an idle timeout on the way). Here it
runs only when the connection has been idle for DATABASE_HEALTH_CHECK_IDLE_SECONDS (default 1) or more;
a connection that finished a request a moment ago is used as is. If it did break in that moment, the
query fails, that request gets an error, and Django closes the connection when the request ends (as it
does for any failed connection), so the next request opens a new one.
"""

import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    released_at = None

    def close_if_unusable_or_obsolete(self):
        # Django calls this when each request starts and when it ends.
        now = time.monotonic()
        idle = now - self.released_at if self.released_at is not None else None
        super().close_if_unusable_or_obsolete()
        self.released_at = now
        threshold = getattr(settings, "DATABASE_HEALTH_CHECK_IDLE_SECONDS", 1.0)
        if self.connection is not None and idle is not None and idle < threshold:
            self.health_check_done = True

    def close(self):
        super().close()
        self.released_at = None
