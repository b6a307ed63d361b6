"""The audit trail: every security event as a database row (searchable in admin) and a JSON log line.

    audit.record(audit.Event.TOKEN_ISSUED, request=request, client=client, user=user,
                 grant_type="authorization_code", scopes=["photos"])

One function, called where the event happens. It writes one AuditEvent row (one INSERT: it reads
nothing) in the caller's transaction, and logs the same fields as one JSON object per line on the
"audit" logger once that transaction commits (at once outside a transaction), so the log never
reports a token that was rolled back. (The token endpoint writes a lone access token and its audit row
in one statement: it builds the row with `event_row` and logs it with `log_when_committed`.)

Only these fields exist, and none of them takes a token, secret, password or assertion: keep it so.
`detail` is a short, fixed description written by our code (an assertion's refusal reason, the
names of the fields an admin changed), never a value the caller sent.
"""

import ipaddress
import json
import logging

from .events import Event

__all__ = ["Event", "event_row", "log_when_committed", "record"]

log = logging.getLogger("audit")

_LIMITS = {"oauth_client_id": 100, "username": 150, "grant_type": 100, "scopes": 500, "detail": 500}


def record(event, **fields):
    """Record one security event (the keyword arguments of `event_row`); returns the AuditEvent."""
    from oauth_server.rows import insert

    row = event_row(event, **fields)
    insert(row)  # row.save(force_insert=True), without building the INSERT on every call
    log_when_committed(row)
    return row


def event_row(event, *, request=None, client=None, user=None, grant_type="", scopes="", detail="",
              client_id=None, username=None, ip=None):
    """The AuditEvent of one security event, not yet saved: `record` saves and logs it, or a caller that
    writes it together with other rows (oauth_server.rows.insert_together) then calls `log_when_committed`.

    event      an audit.Event (or its value)
    request    a Django HttpRequest or an oauthlib Request: gives the IP address (config.middleware.client_ip)
    client     the Client model instance, or just a client_id string (an unknown client)
    user       the User instance concerned (the resource owner; the person signed in for admin actions)
    grant_type the grant (token events), scopes a list or space-separated string, detail a short text
    client_id / username / ip override what would be taken from client / user / request
    """
    from django.utils import timezone

    from config.middleware import client_ip

    from .models import AuditEvent

    event = Event(event)
    client_obj = None
    if isinstance(client, str):
        client_id = client if client_id is None else client_id
    elif client is not None:
        client_obj = client
        if client_id is None:
            client_id = client.client_id
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None  # AnonymousUser
    if username is None:
        username = user.get_username() if user is not None else ""
    if ip is None and request is not None:
        ip = client_ip(request)
    if not isinstance(scopes, str):
        scopes = " ".join(scopes or ())
    return AuditEvent(
        time=timezone.now(),
        event=event,
        client=client_obj,
        oauth_client_id=_clip(client_id, "oauth_client_id"),
        user=user,
        username=_clip(username, "username"),
        ip=_valid_ip(ip),
        grant_type=_clip(grant_type, "grant_type"),
        scopes=_clip(scopes, "scopes"),
        detail=_clip(detail, "detail"),
    )


def log_when_committed(row):
    """The JSON log line of a saved AuditEvent, written once its transaction commits (at once outside one)."""
    from django.db import router, transaction

    line = json.dumps(row.as_log(), separators=(",", ":"), ensure_ascii=False)
    transaction.on_commit(lambda: log.info(line), using=router.db_for_write(type(row)))


def _clip(value, field):
    value = "" if value is None else str(value)
    value = value.replace("\x00", "")  # PostgreSQL refuses NUL in text
    return value[:_LIMITS[field]]


def _valid_ip(value):
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None
