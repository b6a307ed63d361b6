"""What every sample shares: the demo credentials, numbered steps, masking, and failing clearly."""

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

DEFAULT_SERVER = "http://127.0.0.1:8000"
DEFAULT_CREDENTIALS = Path(__file__).resolve().parent.parent / ".demo-clients.json"

# The samples talk to a loopback development server over http; requests-oauthlib refuses http
# unless told so. Never set this against a remote server.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


class SampleFailed(Exception):
    """A step failed; the message says what to do about it."""


def mask(value):
    """Show enough of a secret or token to recognise it, never enough to use it."""
    if not value:
        return value
    value = str(value)
    return value[:6] + "…" if len(value) > 10 else "…"


HIDDEN_KEYS = {"password"}  # not even a prefix
SECRET_KEYS = {"client_secret", "access_token", "refresh_token", "password", "assertion", "client_assertion",
               "code", "code_verifier", "id_token", "token", "private_key", "private_key_pem", "key_pem"}


def masked(data):
    if isinstance(data, dict):
        return {k: ("…" if k in HIDDEN_KEYS else mask(v) if k in SECRET_KEYS else masked(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data


@dataclass
class Sample:
    """One run of a sample: where the server is, the demo credentials, and the step counter."""

    server: str
    credentials: dict
    interactive: bool
    step_number: int = 0
    out: object = field(default=sys.stdout)

    @property
    def token_url(self):
        return self.server + "/oauth/token"

    @property
    def authorize_url(self):
        return self.server + "/oauth/authorize"

    def client(self, key):
        try:
            return self.credentials["clients"][key]
        except KeyError:
            raise SampleFailed(f"the demo client {key!r} is not in the credentials file: run `manage.py seed_demo` "
                               "(or `make run`) first")

    def user(self, username="alice"):
        return self.credentials["users"][username]

    def step(self, title):
        self.step_number += 1
        print(f"\n{self.step_number}. {title}", file=self.out)

    def say(self, text):
        print(f"   {text}", file=self.out)

    def show_request(self, method, url, params=None):
        self.say(f"→ {method} {url}")
        if params:
            self.say(f"  {json.dumps(masked(params), ensure_ascii=False)}")

    def show_response(self, response):
        self.say(f"← HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if body is not None:
            self.say(f"  {json.dumps(masked(body), ensure_ascii=False)}")
        return body

    def show_token(self, token):
        scope = token.get("scope")
        if isinstance(scope, list):
            scope = " ".join(scope)
        self.say(f"token: access_token={mask(token.get('access_token'))} scope={scope!r} "
                 f"expires_in={token.get('expires_in')}s refresh_token={'yes' if token.get('refresh_token') else 'no'}")

    def call_api(self, path, access_token, method="GET", **kwargs):
        url = self.server + path
        self.show_request(method, url)
        response = requests.request(method, url, headers={"Authorization": f"Bearer {access_token}"}, timeout=15,
                                    **kwargs)
        body = self.show_response(response)
        if response.status_code >= 400:
            raise SampleFailed(f"{path} answered HTTP {response.status_code}: {response.headers.get('WWW-Authenticate', '')}")
        self.say("protected API call succeeded")
        return body

    def expect(self, response, status=200, what="the request"):
        if response.status_code != status:
            try:
                error = response.json()
                detail = f"{error.get('error')}: {error.get('error_description', '')}"
            except ValueError:
                detail = response.text[:200]
            if response.status_code == 401 and "invalid_client" in detail:
                detail += " (is the demo data seeded on this server? run `manage.py seed_demo`)"
            raise SampleFailed(f"{what} answered HTTP {response.status_code} ({detail})")
        return response


def load_credentials(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise SampleFailed(f"no demo credentials at {path}: run `make run` (or `manage.py seed_demo`) first")
    except ValueError:
        raise SampleFailed(f"{path} is not valid JSON: run `manage.py seed_demo` again")


def check_server(server):
    try:
        requests.get(server + "/.well-known/oauth-authorization-server", timeout=5).raise_for_status()
    except requests.RequestException as e:
        raise SampleFailed(f"the server at {server} is not answering ({e.__class__.__name__}): start it with `make run`")
