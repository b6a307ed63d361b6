"""Personas and factories shared by every test: alice and bob own resources, photo_printer is a web client."""

import os
from types import SimpleNamespace

import pytest

from oauth_server.constants import GrantType as G
from oauth_server.registration import client_register, scope_ensure

# The SAML personas (acme_idp, rogue_idp) are fixtures of tests/saml_idp.py.
pytest_plugins = ["tests.saml_idp"]

# requests-oauthlib refuses http:// unless told this is a test against a loopback server.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

SCOPES = {
    "photos": "View your photos",
    "photos/write": "Add, change and delete your photos",
    "userinfo/readonly": "See your username, name and email address",
}
PASSWORDS = {"alice": "wonderland-2026", "bob": "builder-2026"}
PRINTER_CALLBACK = "http://127.0.0.1:8765/callback"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scopes(db):
    return {name: scope_ensure(name=name, description=text)[0] for name, text in SCOPES.items()}


def _user(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username, email=f"{username}@example.org", password=PASSWORDS[username], first_name=username.title()
    )


@pytest.fixture
def alice(db):
    return _user("alice")


@pytest.fixture
def bob(db):
    return _user("bob")


@pytest.fixture
def make_client(scopes):
    """Register a client; returns a namespace with the model, client_id and the one-time secret."""

    def make(name="client", grants=(G.CLIENT_CREDENTIALS,), scopes=tuple(SCOPES), **kwargs):
        client, secret = client_register(name=name, grant_types=grants, scopes=scopes, **kwargs)
        return SimpleNamespace(model=client, client_id=client.client_id, secret=secret)

    return make


@pytest.fixture
def photo_printer(make_client):
    return make_client(
        "Photo Printer", grants=(G.AUTHORIZATION_CODE, G.REFRESH_TOKEN), redirect_uris=[PRINTER_CALLBACK]
    )


@pytest.fixture
def backup_service(make_client):
    """A confidential machine client: client_credentials only."""
    return make_client("Nightly Backup", grants=(G.CLIENT_CREDENTIALS,), scopes=("photos",))


@pytest.fixture
def server(live_server, settings):
    """A live server, with OAUTH_ISSUER pointing at it."""
    settings.OAUTH_ISSUER = live_server.url
    settings.OAUTH2_PROVIDER = dict(settings.OAUTH2_PROVIDER, OIDC_ISS_ENDPOINT=live_server.url)
    return SimpleNamespace(
        url=live_server.url,
        token=live_server.url + "/oauth/token",
        authorize=live_server.url + "/oauth/authorize",
        revoke=live_server.url + "/oauth/revoke",
        introspect=live_server.url + "/oauth/introspect",
        tokeninfo=live_server.url + "/oauth/tokeninfo",
    )
