"""Floors: what an endpoint's database work costs with no OAuth framework around it. Bench only.

Not part of the product: only bench.urls routes these views, and only `make bench` serves them. Each view
sends the SQL its real endpoint sends (the same statements, from the product's own query builders) and
wraps it in as little Python as gives the same answer to the benchmark's requests:
- the rate limits are counted, and the request checked as the real endpoints check it (a form POST, no
  parameter twice, one client authentication method);
- the client is authenticated by its HMAC-hashed secret in constant time, and must be enabled, registered
  for client_secret_basic, and allowed the grant and the scopes it asks for;
- an issued token and its audit row are written by one statement, and the audit line is logged.

Left out, because the benchmark never asks for them: the default scopes of a request without `scope`
(refused here), JWT access tokens (the bench client's are opaque), the audit row of a failed client
authentication, and introspection of refresh tokens (an unknown token is simply inactive).

The refresh floor refuses a used refresh token without revoking its family (the real endpoint's reuse
detection): the bench's pool is single-use, so it never sends one.

What the floors tell:
- A target above a floor's ratio cannot be met on that machine by any implementation doing that database
  work.
- The gap between a floor and its real endpoint is what oauthlib, django-oauth-toolkit and our own checks
  cost (bench/README.md, "Floors").
"""

import base64
import binascii
import hashlib
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_access_token_model, get_refresh_token_model, refresh_token_expire_timedelta

from audit.models import AuditEvent
from config.middleware import client_ip
from oauth_server import rate_limits
from oauth_server.client_secrets import check_client_secret
from oauth_server.constants import ClientAuthMethod
from oauth_server.models import CLIENT_WITH_SCOPES
from oauth_server.rows import _insert_sql, insert_together_sql
from oauth_server.tokens import REFRESH_TOKEN_FOR_UPDATE, TOKEN_BY_CHECKSUM, _claim_sql
from oauth_server.views import malformed_request_error

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
audit_log = logging.getLogger("audit")
_NO_RESOURCES = AccessToken._meta.get_field("resource").get_db_prep_save([], connection)  # RFC 8707: none asked
_IP = AuditEvent._meta.get_field("ip")  # an inet parameter on PostgreSQL, as the ORM sends it
_RESOURCE = AccessToken._meta.get_field("resource")


def _answer(document, status=200):
    response = HttpResponse(json.dumps(document), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


def _error(error, status=400):
    return _answer({"error": error, "error_description": error}, status)


def _authenticated_client(request):
    """The client's row values by column name, when the Basic header carries its right secret; else None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return None
    try:
        client_id, colon, secret = base64.b64decode(header[len("Basic "):], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not colon or "\x00" in client_id or request.POST.get("client_id", client_id) != client_id:
        return None
    found = _fetch(CLIENT_WITH_SCOPES, [client_id])
    if found is None:
        check_client_secret(secret, None)  # as much work as a wrong secret
        return None
    client, scope_names = found
    client["scope_names"] = set((scope_names or "").split())
    if not (check_client_secret(secret, client["client_secret"]) and client["enabled"]
            and client["token_endpoint_auth_method"] == ClientAuthMethod.CLIENT_SECRET_BASIC):
        return None
    return client


def _fetch(query, params):
    """One row of a product RowQuery as plain dicts, one per part (column name: raw value), then the values
    after the parts; None when no row matched. The product makes model instances of the same row."""
    parts, sql, _converters = query.compile()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    found, start = [], 0
    for part in parts:
        found.append(dict(zip(part.attnames, row[start:start + len(part)])))
        start += len(part)
    return found + list(row[start:])


def _insert_token_and_event(token_row, event_row):
    """The access token and its audit row, by the one statement oauth_server.rows.insert_together sends."""
    fields_per_model, sql = insert_together_sql(AccessToken, AuditEvent)
    params = []
    for fields, values in zip(fields_per_model, (token_row, event_row)):
        params += [values[f.attname] for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _refused(request, endpoint):
    """The rate limit's 429, the malformed request's error, or two client authentication methods in one
    request (RFC 6749 §2.3), as the real endpoint answers them; else None."""
    refused = rate_limits.check(request, endpoint) or malformed_request_error(request)
    if refused is None and "client_secret" in request.POST and "HTTP_AUTHORIZATION" in request.META:
        refused = _error("invalid_request")
    return refused


@csrf_exempt
def client_credentials(request):
    """POST /bench/floor/client-credentials: case 2's work (RFC 6749 §4.4) without oauthlib or DOT."""
    refused = _refused(request, "token")
    if refused is not None:
        return refused
    if not request.POST.get("grant_type"):
        return _error("invalid_request")
    if request.POST["grant_type"] != "client_credentials":
        return _error("unsupported_grant_type")
    client = _authenticated_client(request)
    if client is None:
        return _error("invalid_client", 401)
    if "client_credentials" not in json.loads(client["allowed_grant_types"]):
        return _error("unauthorized_client")
    scope = request.POST.get("scope", "")
    if not scope.split() or not set(scope.split()) <= client["scope_names"]:
        return _error("invalid_scope")  # no scope: the real endpoint would use the client's default scopes
    token, now = secrets.token_urlsafe(32), timezone.now()
    expires_in = client["access_token_lifetime"] or settings.ACCESS_TOKEN_EXPIRE_SECONDS
    _issue(request, client, None, token, scope, now, expires_in, "client_credentials", source_refresh_token=None)
    return _answer({"access_token": token, "expires_in": expires_in, "token_type": "Bearer", "scope": scope})


def _issue(request, client, user, token, scope, now, expires_in, grant_type, *, source_refresh_token,
           resource=_NO_RESOURCES):
    """The access token and its audit row (one statement), then the audit line, as the product writes them."""
    ip = client_ip(request)
    token_row = {"user_id": user and user["id"], "source_refresh_token_id": source_refresh_token,
                 "token": "", "id_token_id": None, "token_checksum": hashlib.sha256(token.encode()).hexdigest(),
                 "application_id": client["id"], "expires": now + timedelta(seconds=expires_in), "scope": scope,
                 "created": now, "updated": now, "resource": resource}
    event = "token_refreshed" if grant_type == "refresh_token" else "token_issued"
    event_row = {"time": now, "event": event, "client_id": client["id"], "oauth_client_id": client["client_id"],
                 "user_id": user and user["id"], "username": user["username"] if user else "",
                 "ip": _IP.get_db_prep_save(ip, connection), "grant_type": grant_type, "scopes": scope[:500],
                 "detail": ""}
    access_token_id, _event_id = _insert_token_and_event(token_row, event_row)
    line = {**event_row, "time": now.isoformat(), "client_id": client["client_id"], "ip": ip, "detail": None,
            "username": event_row["username"] or None}  # AuditEvent.as_log()'s fields
    del line["oauth_client_id"]
    transaction.on_commit(lambda: audit_log.info(json.dumps(line, separators=(",", ":"))))
    return access_token_id


@csrf_exempt
def refresh_token(request):
    """POST /bench/floor/refresh-token: case 3's work (RFC 6749 §6 with rotation, RFC 9700 §4.14.2) without
    oauthlib or DOT: in one transaction, the client, the refresh token's row locked with its user, client and
    access token, the claim (revoked, detached, its access token deleted), the new access token with its
    audit row, the new refresh token of the same family."""
    refused = _refused(request, "token")
    if refused is not None:
        return refused
    if request.POST.get("grant_type") != "refresh_token" or not request.POST.get("refresh_token"):
        return _error("invalid_request")
    with transaction.atomic():
        client = _authenticated_client(request)
        if client is None:
            return _error("invalid_client", 401)
        if "refresh_token" not in json.loads(client["allowed_grant_types"]):
            return _error("unauthorized_client")
        found = _fetch(REFRESH_TOKEN_FOR_UPDATE, [hashlib.sha256(request.POST["refresh_token"].encode()).hexdigest()])
        if found is None:
            return _error("invalid_grant")
        rt, user, _rt_client, access = found
        now = timezone.now()
        lifetime = client["refresh_token_lifetime"] or settings.REFRESH_TOKEN_EXPIRE_SECONDS
        idle = refresh_token_expire_timedelta()  # DOT's idle expiry, as validate_refresh_token applies it
        # A used (rotated or revoked) token: the real endpoint also revokes its family; the bench never sends one.
        if (rt["revoked"] is not None or access["id"] is None or (idle and access["expires"] + idle <= now)
                or rt["application_id"] != client["id"] or not user["is_active"]
                or rt["created"] + timedelta(seconds=lifetime) <= now):
            return _error("invalid_grant")
        scope = request.POST.get("scope") or access["scope"]
        if not set(scope.split()) <= set(access["scope"].split()):
            return _error("invalid_scope")
        with connection.cursor() as cursor:
            revoked = RefreshToken._meta.get_field("revoked").get_db_prep_save(now, connection)
            cursor.execute(_claim_sql(), [revoked, revoked, rt["id"], access["id"]])
            if cursor.fetchone()[0] != 1:
                return _error("invalid_grant")
        resource = rt["resource"] if isinstance(rt["resource"], list) else json.loads(rt["resource"])
        resource = _RESOURCE.get_db_prep_save(resource, connection)  # RFC 8707: the grant's, carried over
        token, new_refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_in = client["access_token_lifetime"] or settings.ACCESS_TOKEN_EXPIRE_SECONDS
        access_token_id = _issue(request, client, user, token, scope, now, expires_in, "refresh_token",
                                 source_refresh_token=rt["id"], resource=resource)
        refresh_row = {"user_id": user["id"], "token": "",
                       "token_checksum": hashlib.sha256(new_refresh.encode()).hexdigest(),
                       "application_id": client["id"], "access_token_id": access_token_id,
                       "token_family": rt["token_family"], "resource": resource,
                       "created": now, "updated": now, "revoked": None}
        fields, insert_sql = _insert_sql(RefreshToken, connection.vendor)
        with connection.cursor() as cursor:
            cursor.execute(f'{insert_sql} RETURNING "id"', [refresh_row[f.attname] for f in fields])
    return _answer({"access_token": token, "expires_in": expires_in, "token_type": "Bearer", "scope": scope,
                    "refresh_token": new_refresh})


@csrf_exempt
def introspect(request):
    """POST /bench/floor/introspect: case 4's work (RFC 7662) without oauthlib or DOT."""
    refused = _refused(request, "introspect")
    if refused is not None:
        return refused
    caller = _authenticated_client(request)
    if caller is None:
        return _error("invalid_client", 401)
    raw_token = request.POST.get("token", "")
    found = _fetch(TOKEN_BY_CHECKSUM, [hashlib.sha256(raw_token.encode()).hexdigest()])
    if found is None:  # the real endpoint would look for a refresh token next; the bench asks about access tokens
        return _answer({"active": False})
    token, client, user = found
    has_user = user["id"] is not None  # a client_credentials token has no resource owner
    if (token["expires"] <= timezone.now() or not client["enabled"] or (has_user and not user["is_active"])
            or not (caller["id"] == client["id"] or caller["may_introspect_any_token"])):
        return _answer({"active": False})
    claims = {"active": True, "scope": token["scope"], "client_id": client["client_id"], "token_type": "Bearer",
              "exp": int(token["expires"].timestamp()), "iat": int(token["created"].timestamp()),
              "iss": settings.OAUTH_ISSUER, "sub": client["client_id"]}
    if has_user:
        claims.update(username=user["username"], sub=str(user["id"]))  # User.subject
    return _answer(claims)
