"""Getting real tokens from the token endpoint, and reading RFC 6750 challenges, for the resource-server tests."""

import re

import requests

from tests.conftest import PASSWORDS


def token_response(server, client, scope, **params):
    """The token endpoint's 200 answer (JSON) to `client` asking for `scope` with `params`."""
    r = requests.post(server.token, data={"scope": scope, **params}, auth=(client.client_id, client.secret))
    assert r.status_code == 200, r.text
    return r.json()


def password_tokens(server, client, scope, username="alice"):
    """The whole password-grant answer for `username` (access token, refresh token if the client may refresh)."""
    return token_response(server, client, scope, grant_type="password", username=username,
                          password=PASSWORDS[username])


def user_token(server, client, username, scope):
    """A token for `username`'s resources, from the password grant (client made with grants=(PASSWORD, ...))."""
    return password_tokens(server, client, scope, username)["access_token"]


def service_token(server, client, scope):
    """A token without a resource owner, from the client credentials grant."""
    return token_response(server, client, scope, grant_type="client_credentials")["access_token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def revoke(server, client, token):
    r = requests.post(server.revoke, data={"token": token}, auth=(client.client_id, client.secret))
    assert r.status_code == 200, r.text


def challenge(response):
    """The parameters of a `WWW-Authenticate: Bearer k="v", ...` header (RFC 6750 §3)."""
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Bearer"), header
    return dict(re.findall(r'(\w+)="([^"]*)"', header))
