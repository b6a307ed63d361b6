"""Demo data for `make run` and the sample clients: scopes, two users, one client per grant, a trusted
demo SAML identity provider and a demo gateway route."""

import json
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from jwt.algorithms import RSAAlgorithm

from oauth_server.constants import AccessTokenFormat
from oauth_server.constants import GrantType as G
from oauth_server.models import Client
from oauth_server.registration import client_register, scope_ensure
from resources.models import route_save
from saml_bridge.certificates import self_signed_pair
from saml_bridge.models import TrustedIdentityProvider

SCOPES = {
    "photos": "View your photos",
    "photos/write": "Add, change and delete your photos",
    "userinfo/readonly": "See your username, name and email address",
}
USERS = {
    "alice": ("wonderland-2026", "alice@example.org", "Alice", "Liddell"),
    "bob": ("builder-2026", "bob@example.org", "Bob", "Builder"),
}
ALL = list(SCOPES)
CLIENTS = [
    # key, name, grants, public, redirect URIs, extra fields
    ("authorization-code", "Photo Printer", [G.AUTHORIZATION_CODE, G.REFRESH_TOKEN], False,
     ["http://127.0.0.1:8765/callback"], {}),
    ("authorization-code-public", "Photo Gallery (single-page app)", [G.AUTHORIZATION_CODE, G.REFRESH_TOKEN], True,
     ["http://127.0.0.1:8766/callback"], {}),
    ("implicit", "Legacy Slideshow (implicit)", [G.IMPLICIT], True, ["http://127.0.0.1:8767/callback"], {}),
    ("password", "Trusted Mobile App (password)", [G.PASSWORD, G.REFRESH_TOKEN], False, [], {}),
    ("client-credentials", "Nightly Backup Service", [G.CLIENT_CREDENTIALS], False, [], {}),
    ("resource-server", "Photo API (resource server)", [G.CLIENT_CREDENTIALS], False, [],
     {"may_introspect_any_token": True}),
]


class Command(BaseCommand):
    help = "Create demo scopes, users and one client per grant type (idempotent; DEBUG only unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")
        parser.add_argument("--output", default=str(settings.DEMO_CLIENTS_FILE),
                            help="where to write the demo clients' credentials (default: %(default)s)")

    def handle(self, *args, force, output, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with known passwords: it runs only with DEBUG=1 (or --force).")
        previous = _read(output)
        with transaction.atomic():
            for name, description in SCOPES.items():
                scope_ensure(name=name, description=description)
            users = {username: _ensure_user(username, *data) for username, data in USERS.items()}
            clients = {spec[0]: _ensure_client(spec, previous.get("clients", {}).get(spec[0], {})) for spec in CLIENTS}
            clients[JWT_CLIENT] = _ensure_jwt_client(previous.get("clients", {}).get(JWT_CLIENT, {}))
            clients[SAML_CLIENT] = _ensure_saml_demo(previous.get("clients", {}).get(SAML_CLIENT, {}))
            route_save(prefix="demo", upstream_url=DEMO_UPSTREAM, name="Demo upstream (started by the gateway sample)",
                       required_scopes={"GET": ["photos"], "POST": ["photos/write"]})
        data = {"server": settings.OAUTH_ISSUER, "users": users, "clients": clients}
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        self.stdout.write(f"demo data ready: {len(SCOPES)} scopes, users {', '.join(USERS)}, {len(clients)} clients")
        self.stdout.write(f"credentials for the samples: {output}")
        for username, (password, *_rest) in USERS.items():
            self.stdout.write(f"  log in as {username} / {password}")

# The JWT-bearer demo client (RFC 7523 §2.1): it signs assertions with a private key that only the demo
# credentials file holds (written 0600, DEBUG only), and its access tokens are JWTs (RFC 9068). It also
# has a secret, like every demo confidential client, which the JWT-bearer grant does not need.
JWT_CLIENT = "jwt-bearer"
JWT_CLIENT_KID = "demo-jwt-bearer-1"


def _ensure_jwt_client(previous):
    pem = previous.get("private_key_pem")
    try:
        private = serialization.load_pem_private_key(pem.encode(), password=None) if pem else None
    except (ValueError, TypeError):
        private = None
    if not isinstance(private, rsa.RSAPrivateKey):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_jwk = dict(RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), kid=JWT_CLIENT_KID, use="sig")
    spec = (JWT_CLIENT, "Partner Service (JWT bearer)", [G.JWT_BEARER], False, [],
            {"jwks": {"keys": [public_jwk]}, "access_token_format": AccessTokenFormat.JWT})
    entry = _ensure_client(spec, previous)
    client = Client.objects.get(client_id=entry["client_id"])
    if client.jwks != spec[5]["jwks"] or client.access_token_format != AccessTokenFormat.JWT:
        client.jwks, client.access_token_format = spec[5]["jwks"], AccessTokenFormat.JWT
        client.save(update_fields=["jwks", "access_token_format", "updated"])
    return dict(entry, kid=JWT_CLIENT_KID, private_key_pem=pem)


# The SAML 2.0 bearer demo (RFC 7522): a demo identity provider, trusted here, whose key only the demo
# credentials file holds, and a client allowed to exchange its assertions.
SAML_CLIENT = "saml-bearer"
DEMO_IDP_ENTITY_ID = "https://idp.demo.example/saml"
# The gateway sample starts a stand-in upstream API here and calls it through /gateway/demo/.
DEMO_UPSTREAM = "http://127.0.0.1:8790"


def _ensure_saml_demo(previous):
    idp = previous.get("idp") or {}
    key_pem, cert_pem = idp.get("key_pem"), idp.get("cert_pem")
    if not (key_pem and cert_pem):
        key_pem, cert_pem = self_signed_pair("demo-idp")
    TrustedIdentityProvider.objects.update_or_create(entity_id=DEMO_IDP_ENTITY_ID, defaults={
        "name": "Demo IdP (seed_demo)", "signing_certificates": cert_pem, "enabled": True})
    spec = (SAML_CLIENT, "Intranet Portal (SAML bearer)", [G.SAML2_BEARER, G.REFRESH_TOKEN], False, [], {})
    entry = _ensure_client(spec, previous)
    return dict(entry, idp={"entity_id": DEMO_IDP_ENTITY_ID, "key_pem": key_pem, "cert_pem": cert_pem})


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _ensure_user(username, password, email, first_name, last_name):
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username)
    user.email, user.first_name, user.last_name = email, first_name, last_name
    if not user.check_password(password):
        user.set_password(password)
    user.save()
    return {"username": username, "password": password}


def _ensure_client(spec, previous):
    key, name, grants, public, redirect_uris, extra = spec
    client_id = f"demo-{key}"
    client = Client.objects.filter(client_id=client_id).first()
    if client is None:
        client, secret = client_register(name=name, grant_types=grants, redirect_uris=redirect_uris, scopes=ALL,
                                         public=public, client_id=client_id, **extra)
    else:
        secret = previous.get("client_secret")
        if not public and not (secret and client.check_secret(secret)):
            secret = client.set_new_secret()
        client.allowed_grant_types, client.redirect_uris, client.enabled = list(grants), " ".join(redirect_uris), True
        client.save()
    return {"client_id": client_id, "client_secret": None if public else secret, "name": name,
            "grant_types": list(grants), "redirect_uris": redirect_uris}
