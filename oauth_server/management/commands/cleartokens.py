from django.core.management.base import BaseCommand
from oauth2_provider.models import refresh_token_expire_timedelta

from oauth2_provider.settings import oauth2_settings

from oauth_server.token_cleanup import clear_expired


class Command(BaseCommand):
    help = ("Delete expired and revoked tokens and expired authorization codes (django-oauth-toolkit's rules, "
            "in batches of SQL: oauth_server/token_cleanup.py). Run it daily, e.g. from cron.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None,
                            help="rows per DELETE (default: CLEAR_EXPIRED_TOKENS_BATCH_SIZE, "
                                 f"{oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_SIZE})")

    def handle(self, *args, batch_size, **options):
        if refresh_token_expire_timedelta() is None:
            self.stderr.write(self.style.WARNING(
                "REFRESH_TOKEN_EXPIRE_SECONDS is not set: refresh tokens never age-expire, and expired access "
                "tokens still bound to one are kept as long as it lives."))
        counts = clear_expired(batch_size=max(1, batch_size) if batch_size else None)
        self.stdout.write("deleted: " + ", ".join(f"{count} {what}" for what, count in counts.items()))
