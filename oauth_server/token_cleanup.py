"""Removing expired and revoked tokens: django-oauth-toolkit's clear_expired() rules, deleted in batches of SQL.

DOT's clear_expired() deletes through Django's collector, which loads every row as a model instance
because other tables point at tokens with on_delete=SET_NULL, and recounts what is left before each
batch: 68-85 s for 1,000,000 expired access tokens (bench/README.md). Here each batch is the next ids
by primary key (keyset: no rescanning of deleted rows), the SET_NULL references are cleared with one
UPDATE per relation and the rows go with one DELETE. Anything the collector would have to do more
(a CASCADE or PROTECT relation with rows in the batch, delete signal receivers) goes through the ORM.
"""

import logging
import time
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.settings import oauth2_settings

from .rows import delete_unreferenced

log = logging.getLogger(__name__)

def clear_expired(batch_size=None):
    """Delete what DOT's clear_expired() deletes, with the same rules; returns {what: rows deleted}.

    Batches of DOT's CLEAR_EXPIRED_TOKENS_BATCH_SIZE rows (unless `batch_size`), each in its own
    transaction, CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL seconds apart, as DOT does.
    """
    batch_size = batch_size or oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_SIZE
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    now = timezone.now()
    refresh_expire_at = _refresh_expire_at(now)
    refresh_revoked_at = _refresh_revoked_at(now, refresh_expire_at)
    counts = {}
    if refresh_revoked_at:
        counts["revoked refresh tokens"] = delete_in_batches(
            RefreshToken.objects.filter(revoked__lte=refresh_revoked_at), batch_size)
    # Orphans (not revoked, their access token gone) can mint no access token: DOT removes them always.
    counts["orphaned refresh tokens"] = delete_in_batches(
        RefreshToken.objects.filter(revoked__isnull=True, access_token__isnull=True), batch_size)
    if refresh_expire_at:
        # Idle expiry: REFRESH_TOKEN_EXPIRE_SECONDS after the paired access token expired.
        counts["expired refresh tokens"] = delete_in_batches(
            RefreshToken.objects.filter(revoked__isnull=True, access_token__expires__lte=refresh_expire_at),
            batch_size)
    counts["expired access tokens"] = delete_in_batches(
        AccessToken.objects.filter(refresh_token__isnull=True, expires__lt=now), batch_size)
    counts["expired ID tokens"] = delete_in_batches(
        get_id_token_model().objects.filter(access_token__isnull=True, expires__lt=now), batch_size)
    counts["expired authorization codes"] = delete_in_batches(
        get_grant_model().objects.filter(expires__lt=now), batch_size)
    for what, count in counts.items():
        log.info("%s %s deleted", count, what)
    return counts


def _refresh_expire_at(now):
    delta = refresh_token_expire_timedelta()
    return now - delta if delta else None


def _refresh_revoked_at(now, refresh_expire_at):
    if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
        # Rotated (revoked) refresh tokens are what reuse detection finds: kept until they expire.
        return refresh_expire_at
    grace = oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS or 0
    if not isinstance(grace, (int, float)) or grace < 0:
        raise ImproperlyConfigured("REFRESH_TOKEN_GRACE_PERIOD_SECONDS must be a number of seconds, not negative")
    return now - timedelta(seconds=grace)


def delete_in_batches(queryset, batch_size, interval=None):
    """Delete the rows of `queryset`, `batch_size` at a time in primary-key order; returns how many.

    Each batch is a primary-key range (found with one query for its last id), so no list of ids goes
    back and forth and deleted rows are not scanned again. Between batches it sleeps `interval` seconds
    (default: DOT's CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL, meant for the scheduled clean-up).
    """
    return _in_batches(queryset, batch_size, interval, _delete)


def update_in_batches(queryset, batch_size, interval=None, **values):
    """queryset.update(**values), `batch_size` rows at a time as delete_in_batches walks them; returns how many."""
    return _in_batches(queryset, batch_size, interval, lambda batch: batch.update(**values))


def _in_batches(queryset, batch_size, interval, apply):
    interval = oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL if interval is None else interval
    done, last_pk = 0, None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        boundary = list(page.order_by("pk").values_list("pk", flat=True)[batch_size - 1:batch_size])
        batch = page.filter(pk__lte=boundary[0]) if boundary else page
        with transaction.atomic():
            done += apply(batch)
        if not boundary:
            return done
        last_pk = boundary[0]
        time.sleep(interval)


def _delete(batch):
    model = batch.model
    set_null = []
    for relation in get_candidate_relations_to_delete(model._meta):  # as Django's collector, hidden ones too
        if relation.on_delete is models.DO_NOTHING:
            continue
        related = relation.related_model._base_manager.filter(
            **{f"{relation.field.name}__in": batch.values("pk")})
        if relation.on_delete is models.SET_NULL:
            set_null.append((related, relation.field.name))
        elif related.exists():  # CASCADE, PROTECT, RESTRICT, SET(...), SET_DEFAULT: the collector knows
            return _orm_delete(batch)
    for related, field_name in set_null:
        related.update(**{field_name: None})
    return delete_unreferenced(batch)


def _orm_delete(batch):
    _total, per_model = batch.delete()
    return per_model.get(batch.model._meta.label, 0)
