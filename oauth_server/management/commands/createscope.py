from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oauth_server.models import scope_name_validator
from oauth_server.registration import scope_ensure


class Command(BaseCommand):
    help = "Register a scope (idempotent: an existing scope gets the new description)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="e.g. photos, photos/write, userinfo/readonly")
        parser.add_argument("--description", required=True, help="shown to end users on the consent page")

    def handle(self, *args, name, description, **options):
        try:
            scope_name_validator(name)
        except ValidationError as e:
            raise CommandError(" ".join(e.messages))
        _scope, created = scope_ensure(name=name, description=description)
        self.stdout.write(f"{'created' if created else 'updated'} scope {name}")
