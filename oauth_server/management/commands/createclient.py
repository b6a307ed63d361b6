import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oauth_server.constants import ClientAuthMethod, GrantType
from oauth_server.registration import client_register


class Command(BaseCommand):
    help = "Register a client application. Its secret is printed once and stored only as a hash."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--grant-type", action="append", required=True, choices=GrantType.values,
                            dest="grant_types", help="repeat for several grants")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        parser.add_argument("--scope", action="append", default=[], dest="scopes", help="an allowed scope; repeat")
        parser.add_argument("--default-scope", action="append", dest="default_scopes",
                            help="granted when a request names no scope (default: all allowed scopes)")
        parser.add_argument("--public", action="store_true", help="a public client (no secret; PKCE required)")
        parser.add_argument("--token-endpoint-auth-method", choices=ClientAuthMethod.values, dest="auth_method")
        parser.add_argument("--client-id", help="use this client_id instead of a generated one")
        parser.add_argument("--json", action="store_true", help="print {client_id, client_secret} as JSON")

    def handle(self, *args, **o):
        try:
            client, secret = client_register(
                name=o["name"], grant_types=o["grant_types"], redirect_uris=o["redirect_uris"],
                scopes=o["scopes"], default_scopes=o["default_scopes"], public=o["public"],
                auth_method=o["auth_method"], client_id=o["client_id"],
            )
        except ValidationError as e:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in e.message_dict.items()))
        except ValueError as e:
            raise CommandError(str(e))
        if o["json"]:
            self.stdout.write(json.dumps({"client_id": client.client_id, "client_secret": secret}))
            return
        self.stdout.write(f"client {client.name}\n  client_id:     {client.client_id}")
        if secret:
            self.stdout.write(f"  client_secret: {secret}\n  (shown once: it is stored only as a hash)")
        else:
            self.stdout.write("  public client: no secret; authorization code requests need PKCE S256")
