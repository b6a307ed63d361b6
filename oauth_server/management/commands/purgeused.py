from django.core.management.base import BaseCommand

from oauth_server.models import UsedAuthorizationCode, UsedJTI


class Command(BaseCommand):
    help = ("Forget single-use records that can no longer matter: JWT IDs past their assertion's expiry, and "
            "exchanged authorization codes older than a day. Schedule it beside cleartokens.")

    def handle(self, *args, **options):
        jtis = UsedJTI.objects.purge_expired()
        codes = UsedAuthorizationCode.purge_old()
        self.stdout.write(f"purged {jtis} expired JWT ID(s) and {codes} old authorization code record(s)")
