"""manage.py cleartokens: deletes exactly what django-oauth-toolkit's clear_expired() deletes, in SQL batches."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken
from oauth2_provider.models import clear_expired as dot_clear_expired

from oauth_server.models import token_checksum

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _access(client, user, name, expires_in):
    return AccessToken.objects.create(application=client, user=user, token="", token_checksum=token_checksum(name),
                                      scope="photos", expires=timezone.now() + expires_in)


def _refresh(client, user, name, access_token, revoked_ago=None):
    return RefreshToken.objects.create(application=client, user=user, token="", token_checksum=token_checksum(name),
                                       access_token=access_token,
                                       revoked=timezone.now() - revoked_ago if revoked_ago is not None else None)


def build_tokens(client, user, settings):
    """One token in each state the cleanup rules tell apart."""
    lifetime = timedelta(seconds=settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"])
    live = _access(client, user, "live-at", timedelta(hours=1))
    _refresh(client, user, "live-rt", live)
    _access(client, user, "expired-at-alone", -timedelta(minutes=1))
    expired_but_refreshable = _access(client, user, "expired-at-with-live-rt", -timedelta(minutes=1))
    _refresh(client, user, "live-rt-of-expired-at", expired_but_refreshable)
    _refresh(client, user, "rotated-recently", None, revoked_ago=timedelta(minutes=5))
    _refresh(client, user, "rotated-long-ago", None, revoked_ago=lifetime + DAY)
    _refresh(client, user, "orphan", None)
    idle = _access(client, user, "at-of-idle-rt", -(lifetime + DAY))
    _refresh(client, user, "idle-rt", idle)
    source = _refresh(client, user, "source-rt-revoked-long-ago", None, revoked_ago=lifetime + DAY)
    AccessToken.objects.create(application=client, user=user, token="", token_checksum=token_checksum("child-at"),
                               scope="photos", expires=timezone.now() + timedelta(hours=1),
                               source_refresh_token=source)
    for code, expires_in in (("expired-code", -timedelta(seconds=1)), ("live-code", timedelta(minutes=1))):
        Grant.objects.create(application=client, user=user, code=code, expires=timezone.now() + expires_in,
                             redirect_uri="http://127.0.0.1:8765/callback", scope="photos")


def remaining():
    return {
        "access": set(AccessToken.objects.values_list("token_checksum", flat=True)),
        "refresh": set(RefreshToken.objects.values_list("token_checksum", flat=True)),
        "codes": set(Grant.objects.values_list("code", flat=True)),
        "child source cleared": not AccessToken.objects.filter(token_checksum=token_checksum("child-at"),
                                                               source_refresh_token__isnull=False).exists(),
    }


def wipe():
    AccessToken.objects.all().delete()
    RefreshToken.objects.all().delete()
    Grant.objects.all().delete()


@pytest.mark.parametrize("batch_size", [10_000, 2])
def test_cleartokens_leaves_what_dot_leaves(backup_service, alice, settings, batch_size):
    build_tokens(backup_service.model, alice, settings)
    dot_clear_expired()
    expected = remaining()
    wipe()
    build_tokens(backup_service.model, alice, settings)
    call_command("cleartokens", batch_size=batch_size, stdout=None)
    assert remaining() == expected
    names = {token_checksum(n): n for n in ("live-at", "expired-at-with-live-rt", "child-at", "live-rt",
                                           "live-rt-of-expired-at", "rotated-recently")}
    assert {names.get(c, c) for c in expected["access"]} == {"live-at", "expired-at-with-live-rt", "child-at"}
    assert {names.get(c, c) for c in expected["refresh"]} == {"live-rt", "live-rt-of-expired-at", "rotated-recently"}
    assert expected["codes"] == {"live-code"} and expected["child source cleared"]


def test_cleartokens_says_what_it_deleted(backup_service, alice, settings, capsys):
    build_tokens(backup_service.model, alice, settings)
    call_command("cleartokens")
    out = capsys.readouterr().out
    assert "2 expired access tokens" in out and "1 orphaned refresh tokens" in out
