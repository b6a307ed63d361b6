from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from oauth2_provider.settings import oauth2_settings

from audit.models import AuditEvent
from oauth_server.token_cleanup import delete_in_batches


class Command(BaseCommand):
    help = ("Delete audit events older than the retention period (AUDIT_RETENTION_DAYS, or --days), in batches. "
            "Run it daily beside cleartokens: every issued token adds an event.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help=f"keep this many days of events (default: AUDIT_RETENTION_DAYS, "
                                 f"{settings.AUDIT_RETENTION_DAYS})")
        parser.add_argument("--batch-size", type=int, default=None,
                            help=f"rows per DELETE (default: {oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_SIZE})")

    def handle(self, *args, days, batch_size, **options):
        days = settings.AUDIT_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError(f"The retention period must be at least 1 day (--days or AUDIT_RETENTION_DAYS, not "
                               f"{days}): the trail of the last day is never deleted.")
        batch_size = max(1, batch_size) if batch_size else oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_SIZE
        deleted = delete_in_batches(AuditEvent.objects.older_than(days), batch_size)
        self.stdout.write(f"deleted {deleted} audit event(s) older than {days} day(s)")
