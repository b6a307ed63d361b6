"""Looking up the tokens we issued. Every endpoint that accepts our access tokens asks here."""

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.transaction import TransactionManagementError
from oauth2_provider.models import get_access_token_model, get_application_model, get_refresh_token_model

from .access_tokens import looks_like_jwt, verify_jwt_access_token
from .models import token_checksum
from .rows import Columns, RowQuery, delete_unreferenced, deletes_are_heard

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

# Opaque tokens are 43 characters; a JWT access token (RFC 9068) is about 1 KB, more with many scopes.
MAX_TOKEN_LENGTH = 8192


def _token_query():
    """The token row by checksum (unique index), its client's row and its resource owner's row (if any)."""
    token = Columns(AccessToken, "t", ["id", "user", "application", "expires", "scope", "created"])
    client = Columns(get_application_model(), "c", ["id", "client_id", "name", "client_type", "enabled",
                                                    "access_token_format", "may_introspect_any_token"])
    user = Columns(get_user_model(), "u")  # the whole user: the APIs serve it (userinfo) and filter by it
    sql = (
        f"SELECT {token.select_list()}, {client.select_list()}, {user.select_list()}"
        f" FROM {token.table_as_alias()}"
        f" INNER JOIN {client.table_as_alias()} ON {client.column('id')} = {token.column('application')}"
        f" LEFT OUTER JOIN {user.table_as_alias()} ON {user.column('id')} = {token.column('user')}"
        f" WHERE {token.column('token_checksum')} = %s"
    )
    return [token, client, user], sql


TOKEN_BY_CHECKSUM = RowQuery(_token_query)


def find_active_access_token(raw_token):
    """The live access token for `raw_token`: not expired, not revoked, its client enabled; else None.

    Both formats: an opaque token is looked up by its SHA-256; a JWT access token must first carry a
    valid signature by one of our published keys, typ at+jwt, our iss and aud, and an exp in the
    future (a forged or expired JWT is refused without touching the token table), and then it is
    looked up the same way, so a revoked JWT (its row deleted) is refused at once.

    The token comes with its `application` (the columns callers use; others load on access) and its
    `user`, both from the one query.
    """
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        return None
    if looks_like_jwt(raw_token) and verify_jwt_access_token(raw_token) is None:
        return None
    found = TOKEN_BY_CHECKSUM.fetch_one([token_checksum(raw_token)])
    if found is None:
        return None
    access_token, client, user = found
    if access_token.is_expired() or not client.enabled:
        return None
    if user is not None and not user.is_active:
        return None  # a deactivated resource owner's tokens stop working with the account
    access_token.application = client
    access_token.user = user
    return access_token


def _refresh_token_query():
    """The refresh token row by checksum, locked (FOR UPDATE OF it alone), with its user, client and access token
    rows: what `RefreshToken.objects.select_for_update(of=("self",)).select_related("user", "application",
    "access_token")` reads. Of several rows with one checksum (a value issued again after its first row was
    revoked), the live one comes first, as DOT's lookup orders them."""
    refresh = Columns(RefreshToken, "r")
    user = Columns(get_user_model(), "u")
    client = Columns(get_application_model(), "c")
    access = Columns(AccessToken, "a")
    features = connection.features
    lock = ""
    if features.has_select_for_update:  # as the ORM: OF the refresh token where the database can say so
        lock = f" FOR UPDATE OF {connection.ops.quote_name('r')}" if features.has_select_for_update_of else " FOR UPDATE"
    sql = (
        f"SELECT {refresh.select_list()}, {user.select_list()}, {client.select_list()}, {access.select_list()}"
        f" FROM {refresh.table_as_alias()}"
        f" INNER JOIN {user.table_as_alias()} ON {user.pk_column()} = {refresh.column('user')}"
        f" INNER JOIN {client.table_as_alias()} ON {client.pk_column()} = {refresh.column('application')}"
        f" LEFT OUTER JOIN {access.table_as_alias()} ON {access.pk_column()} = {refresh.column('access_token')}"
        f" WHERE {refresh.column('token_checksum')} = %s"
        f" ORDER BY {refresh.column('revoked')} IS NOT NULL, {refresh.column('revoked')} DESC LIMIT 1{lock}"
    )
    return [refresh, user, client, access], sql


REFRESH_TOKEN_FOR_UPDATE = RowQuery(_refresh_token_query)


def lock_refresh_token(raw_token):
    """The stored refresh token for `raw_token` with its user, client and access token, its row locked until
    the transaction ends (PostgreSQL); None if there is none. Whether it may be used is the caller's rule."""
    if connection.features.has_select_for_update and not connection.in_atomic_block:
        # As select_for_update(): outside a transaction the lock would end with the statement.
        raise TransactionManagementError("lock_refresh_token cannot be used outside of a transaction.")
    found = REFRESH_TOKEN_FOR_UPDATE.fetch_one([token_checksum(raw_token)])
    if found is None:
        return None
    refresh_token, user, client, access_token = found
    refresh_token.user, refresh_token.application, refresh_token.access_token = user, client, access_token
    return refresh_token


def claim_refresh_token(refresh_token, now):
    """Rotation's first step: mark `refresh_token` revoked and detached from its access token, if it is still
    live, and delete that access token, which then nothing refers to. True if this call claimed it.

    On PostgreSQL one statement does both (an UPDATE and a DELETE as WITH clauses; the DELETE happens only
    if the UPDATE claimed the row); elsewhere, or when a delete signal listens, the ORM's UPDATE and
    rows.delete_unreferenced do it in two.
    """
    access_token_pk = refresh_token.access_token_id
    if connection.vendor != "postgresql" or deletes_are_heard(AccessToken):
        claimed = RefreshToken.objects.filter(pk=refresh_token.pk, revoked__isnull=True).update(
            revoked=now, updated=now, access_token=None)
        if claimed and access_token_pk is not None:
            delete_unreferenced(AccessToken.objects.filter(pk=access_token_pk))
        return bool(claimed)
    revoked = RefreshToken._meta.get_field("revoked").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [revoked, revoked, refresh_token.pk, access_token_pk])
        return cursor.fetchone()[0] == 1


@functools.cache
def _claim_sql():
    quote = connection.ops.quote_name
    refresh, access = RefreshToken._meta, AccessToken._meta

    def column(meta, name):
        return quote(meta.get_field(name).column)

    return (
        f"WITH claimed AS (UPDATE {quote(refresh.db_table)} SET {column(refresh, 'revoked')} = %s,"
        f" {column(refresh, 'updated')} = %s, {column(refresh, 'access_token')} = NULL"
        f" WHERE {quote(refresh.pk.column)} = %s AND {column(refresh, 'revoked')} IS NULL RETURNING 1),"
        f" gone AS (DELETE FROM {quote(access.db_table)} WHERE {quote(access.pk.column)} = %s"
        f" AND EXISTS (SELECT 1 FROM claimed))"
        f" SELECT count(*) FROM claimed"
    )
