import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oauth_server.constants import AccessTokenFormat, ClientAuthMethod, GrantType
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
        parser.add_argument("--jwks-file", metavar="F", help="a JSON file with the client's PUBLIC keys (a JWKS)")
        parser.add_argument("--jwks-uri", metavar="URL", default="", help="where the client publishes its JWKS")
        parser.add_argument("--certificate-file", metavar="F", help="the client's X.509 certificate (PEM)")
        parser.add_argument("--access-token-format", choices=AccessTokenFormat.values, default=AccessTokenFormat.OPAQUE,
                            help="opaque (default) or jwt (RFC 9068 JWT access tokens)")
        parser.add_argument("--json", action="store_true", help="print {client_id, client_secret} as JSON")

    def handle(self, *args, **o):
        try:
            client, secret = client_register(
                name=o["name"], grant_types=o["grant_types"], redirect_uris=o["redirect_uris"],
                scopes=o["scopes"], default_scopes=o["default_scopes"], public=o["public"],
                auth_method=o["auth_method"], client_id=o["client_id"], jwks=_read_jwks(o["jwks_file"]),
                jwks_uri=o["jwks_uri"], certificate=_read(o["certificate_file"]) or "",
                access_token_format=o["access_token_format"],
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
        elif client.is_public:
            self.stdout.write("  public client: no secret; authorization code requests need PKCE S256")
        else:
            self.stdout.write("  private_key_jwt: no secret; the client authenticates with JWTs signed by its key")


def _read(path):
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CommandError(f"cannot read {path}: {e}")


def _read_jwks(path):
    text = _read(path)
    if text is None:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        raise CommandError(f"{path} is not JSON: a JWKS looks like {{\"keys\": [{{\"kty\": \"RSA\", ...}}]}}")
