from django.core.management.base import BaseCommand

from saml_bridge.models import used_assertions_purge


class Command(BaseCommand):
    help = "Forget the IDs of used SAML assertions that have expired (they can no longer be replayed)."

    def handle(self, *args, **options):
        self.stdout.write(f"purged {used_assertions_purge()} expired assertion ID(s)")
