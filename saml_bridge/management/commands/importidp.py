import json
import sys
from argparse import BooleanOptionalAction

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from saml_bridge.registry import METADATA_MAX_BYTES, identity_provider_import


class Command(BaseCommand):
    help = ("Trust a SAML identity provider from its metadata XML (create, or update its certificates). "
            "Prints the entity ID.")

    def add_arguments(self, parser):
        parser.add_argument("metadata_file", metavar="METADATA_FILE", help="the IdP's SAML metadata XML ('-': stdin)")
        parser.add_argument("--entity-id", help="which IdP, when the file is an aggregate of several")
        parser.add_argument("--name", help="display name (default: from the metadata)")
        parser.add_argument("--auto-provision", action=BooleanOptionalAction, default=None,
                            help="create unknown users on first use (new IdPs: off; updates: unchanged)")
        parser.add_argument("--disabled", action=BooleanOptionalAction, default=None,
                            help="import it disabled (new IdPs: enabled; updates: unchanged)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print a JSON summary instead")

    def handle(self, *args, metadata_file, entity_id, name, auto_provision, disabled, as_json, **options):
        data = self._read(metadata_file)
        try:
            idp, created = identity_provider_import(
                metadata_xml=data, entity_id=entity_id, name=name, auto_provision=auto_provision,
                enabled=None if disabled is None else not disabled,
            )
        except ValidationError as e:
            raise CommandError(f"{metadata_file}: {' '.join(e.messages)}")
        count = len(idp.certificate_pems())
        if as_json:
            self.stdout.write(json.dumps({
                "entity_id": idp.entity_id, "name": idp.name, "created": created, "enabled": idp.enabled,
                "auto_provision": idp.auto_provision, "signing_certificates": count,
            }))
            return
        self.stdout.write(idp.entity_id)
        self.stderr.write(f"{'created' if created else 'updated'} identity provider {idp.name!r}: "
                          f"{count} signing certificate(s), {'enabled' if idp.enabled else 'disabled'}, "
                          f"auto-provisioning {'on' if idp.auto_provision else 'off'}")

    def _read(self, path):
        try:
            if path == "-":
                data = sys.stdin.buffer.read(METADATA_MAX_BYTES + 1)
            else:
                with open(path, "rb") as f:
                    data = f.read(METADATA_MAX_BYTES + 1)
        except OSError as e:
            raise CommandError(f"{path}: {e.strerror}")
        if len(data) > METADATA_MAX_BYTES:
            raise CommandError(f"{path}: larger than {METADATA_MAX_BYTES // (1024 * 1024)} MiB")
        return data

