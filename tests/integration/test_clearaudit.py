"""manage.py clearaudit: the audit trail's retention period."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

import audit
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def event_days_ago(days, detail):
    row = audit.record(audit.Event.CLIENT_AUTH_FAILED, client="nobody", detail=detail)
    AuditEvent.objects.filter(pk=row.pk).update(time=timezone.now() - timedelta(days=days))


def run(*args):
    out = StringIO()
    call_command("clearaudit", *args, stdout=out)
    return out.getvalue()


def test_events_past_the_retention_period_are_deleted(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    for days, detail in ((400, "old"), (31, "past retention"), (29, "within retention"), (0, "today")):
        event_days_ago(days, detail)
    assert run() == "deleted 2 audit event(s) older than 30 day(s)\n"
    assert set(AuditEvent.objects.values_list("detail", flat=True)) == {"within retention", "today"}


def test_days_and_batch_size_flags(settings):
    settings.AUDIT_RETENTION_DAYS = 365
    for n in range(5):
        event_days_ago(10 + n, f"event {n}")
    event_days_ago(2, "recent")
    assert run("--days", "7", "--batch-size", "2") == "deleted 5 audit event(s) older than 7 day(s)\n"
    assert list(AuditEvent.objects.values_list("detail", flat=True)) == ["recent"]


def test_zero_days_is_refused():
    event_days_ago(0, "today")
    with pytest.raises(CommandError, match="at least 1"):
        run("--days", "0")
    assert AuditEvent.objects.count() == 1
