"""Keys over HTTP: our JWKS at /.well-known/jwks.json, and a client's keys fetched from its jwks_uri."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.cache import cache

from oauth_server.constants import ClientAuthMethod
from oauth_server.constants import GrantType as G
from tests.unit.test_jwt_support import JWT_BEARER, claims, jwks, private_key, public_jwk, sign

pytestmark = pytest.mark.django_db(transaction=True)


# --- our JWKS ------------------------------------------------------------------------------------------
def test_jwks_of_a_fresh_server_has_a_key_and_caching_headers(server):
    r = requests.get(server.url + "/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["Cache-Control"].startswith("public, max-age=")
    (key,) = r.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "a private member is published"
    # The same key on the next request (made once, stored).
    assert requests.get(server.url + "/.well-known/jwks.json").json()["keys"] == [key]


def test_metadata_points_at_the_jwks(server):
    meta = requests.get(server.url + "/.well-known/oauth-authorization-server").json()
    assert meta["jwks_uri"] == server.url + "/.well-known/jwks.json"


def test_private_keys_are_stored_encrypted(server):
    from oauth_server.models import SigningKey

    requests.get(server.url + "/.well-known/jwks.json")
    stored = SigningKey.objects.get(is_current=True).private_key
    assert "PRIVATE KEY" not in stored and stored.startswith("gAAAAA")  # a Fernet token


# --- a client's jwks_uri ---------------------------------------------------------------------------------
class JWKSHost:
    """A client's web server publishing its JWKS, on 127.0.0.1."""

    def __init__(self):
        self.body = b'{"keys": []}'
        self.hits = 0
        self.delay = 0.0

    def publish(self, *keys_and_kids):
        self.body = json.dumps(jwks(*[public_jwk(key, kid=kid) for key, kid in keys_and_kids])).encode()


@pytest.fixture
def jwks_host():
    cache.clear()
    host = JWKSHost()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            host.hits += 1
            time.sleep(host.delay)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(host.body)))
            self.end_headers()
            self.wfile.write(host.body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host.url = f"http://127.0.0.1:{httpd.server_port}/jwks.json"
    yield host
    httpd.shutdown()
    httpd.server_close()
    cache.clear()


@pytest.fixture
def remote_partner(make_client, jwks_host):
    jwks_host.publish((private_key("rsa"), "r1"))
    return make_client("Remote keys", grants=(G.JWT_BEARER,), auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                       jwks_uri=jwks_host.url)


def exchange(server, client, key, kid):
    token = sign(claims(iss=client.client_id, sub=client.client_id, aud=server.token), key, kid=kid)
    return requests.post(server.token, data={"grant_type": JWT_BEARER, "assertion": token})


def test_keys_are_fetched_from_the_jwks_uri_and_cached(server, remote_partner, jwks_host):
    assert exchange(server, remote_partner, private_key("rsa"), "r1").status_code == 200
    assert exchange(server, remote_partner, private_key("rsa"), "r1").status_code == 200
    assert jwks_host.hits == 1


def test_an_unknown_kid_triggers_one_refetch_after_the_client_rotates(server, remote_partner, jwks_host, settings):
    settings.JWKS_REFETCH_INTERVAL_SECONDS = 1
    assert exchange(server, remote_partner, private_key("rsa"), "r1").status_code == 200
    # The client rotates: a new key with a new kid.
    jwks_host.publish((private_key("rsa", 1), "r2"))
    r = exchange(server, remote_partner, private_key("rsa", 1), "r2")
    assert r.status_code == 200, r.text
    assert jwks_host.hits == 2
    # Forged kids do not make us fetch again and again: one refetch per interval per client.
    for n in range(3):
        assert exchange(server, remote_partner, private_key("rsa", 2), f"forged-{n}").status_code == 400
    assert jwks_host.hits == 2
    # After the interval, an unknown kid may trigger one more fetch.
    time.sleep(settings.JWKS_REFETCH_INTERVAL_SECONDS + 0.1)
    assert exchange(server, remote_partner, private_key("rsa", 2), "forged-again").status_code == 400
    assert jwks_host.hits == 3


def test_an_oversized_jwks_is_not_used(server, remote_partner, jwks_host, settings):
    settings.JWKS_FETCH_MAX_BYTES = 1024
    jwks_host.publish(*[(private_key("rsa"), f"r{n}") for n in range(5)])  # about 2 KB
    r = exchange(server, remote_partner, private_key("rsa"), "r1")
    assert r.status_code == 400 and "signature" in r.json()["error_description"]


def test_a_slow_jwks_uri_times_out_cleanly(server, remote_partner, jwks_host, settings):
    settings.JWKS_FETCH_TIMEOUT = 0.3
    jwks_host.delay = 1.0
    started = time.monotonic()
    r = exchange(server, remote_partner, private_key("rsa"), "r1")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert time.monotonic() - started < 1.0
    # The failure is remembered briefly: the next request does not wait for the dead server again.
    started = time.monotonic()
    exchange(server, remote_partner, private_key("rsa"), "r1")
    assert time.monotonic() - started < 0.3


def test_a_jwks_uri_that_is_down_gives_invalid_grant_not_an_error_page(server, make_client):
    cache.clear()
    client = make_client("Dead keys", grants=(G.JWT_BEARER,), auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                         jwks_uri="http://127.0.0.1:9/jwks.json")
    r = exchange(server, client, private_key("rsa"), "r1")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
