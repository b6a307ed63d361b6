import json

from django.core.management.base import BaseCommand, CommandError

from oauth_server import signing_keys
from oauth_server.constants import SERVER_SIGNING_ALGORITHMS


class Command(BaseCommand):
    help = ("Make a new current signing key for JWT access tokens. Older keys stay in /.well-known/jwks.json "
            "until every token they signed has expired. With --retire KID, unpublish one key instead.")

    def add_arguments(self, parser):
        parser.add_argument("--algorithm", choices=SERVER_SIGNING_ALGORITHMS,
                            help="algorithm of the new key (default: the JWT_SIGNING_ALGORITHM setting)")
        parser.add_argument("--retire", metavar="KID", help="stop publishing this key and delete it")
        parser.add_argument("--force", action="store_true",
                            help="with --retire: even if tokens it signed may still be valid (key compromise)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, algorithm, retire, force, **options):
        as_json = options["json"]
        if retire:
            try:
                key = signing_keys.retire(retire, force=force)
            except signing_keys.RetireRefused as refused:
                raise CommandError(str(refused))
            self._report(as_json, {"retired": key.kid, "published": self._published()},
                         f"retired {key.kid}: no longer published")
            return
        if force:
            raise CommandError("--force goes with --retire KID.")
        purged = signing_keys.purge_unpublished()
        new, still = signing_keys.rotate(algorithm=algorithm)
        lines = [f"new current key: {new.kid} ({new.algorithm})"]
        for key in still:
            lines.append(f"still published: {key.kid} ({key.algorithm}) until {key.retire_after.isoformat()}")
        for kid in purged:
            lines.append(f"removed (all its tokens have expired): {kid}")
        self._report(as_json, {"current": new.kid, "algorithm": new.algorithm, "published": self._published(),
                               "removed": purged}, "\n".join(lines))

    def _published(self):
        return [{"kid": k.kid, "algorithm": k.algorithm, "current": k.is_current,
                 "retire_after": k.retire_after.isoformat() if k.retire_after else None}
                for k in signing_keys.SigningKey.objects.published()]

    def _report(self, as_json, data, text):
        self.stdout.write(json.dumps(data) if as_json else text)
