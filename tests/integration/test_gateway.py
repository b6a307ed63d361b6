"""/gateway/<prefix>/<rest>: checked like every protected API, then forwarded to a real upstream HTTP server."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

from oauth_server.constants import GrantType as G
from resources.models import GatewayRoute
from tests.integration.tokens import bearer, challenge, revoke, service_token, user_token

pytestmark = pytest.mark.django_db(transaction=True)


class Upstream(ThreadingHTTPServer):
    """An upstream API on 127.0.0.1 that records every request it gets. Paths choose how it answers:
    /slow/<seconds> sleeps first, /stream sends a first chunk and waits for `release` before the rest,
    anything else answers 200 with a JSON echo and a few headers of its own."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.received = []
        self.release = threading.Event()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def last(self):
        assert self.received, "the upstream received no request"
        return self.received[-1]


class UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _record(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            body = self._read_chunked()
        request = {"method": self.command, "path": parts.path, "query": parts.query, "body": body,
                   "headers": self.headers}
        self.server.received.append(request)
        return request

    def _read_chunked(self):
        body = b""
        while size := int(self.rfile.readline().strip(), 16):
            body += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()
        return body

    def _answer(self):
        request = self._record()
        if request["path"].startswith("/v1/slow/"):
            time.sleep(float(request["path"].rsplit("/", 1)[1]))
        if request["path"] == "/v1/stream":
            return self._stream()
        if request["path"] == "/v1/bare":
            return self._bare()
        body = json.dumps({"you_sent": request["path"]}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream-Version", "7")
        self.send_header("Set-Cookie", "upstream_session=abc; Path=/; HttpOnly")
        self.send_header("Keep-Alive", "timeout=5")
        self.send_header("Connection", "keep-alive, X-Upstream-Hop")
        self.send_header("X-Upstream-Hop", "not for the caller")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _bare(self):
        """No Content-Type, a field sent on two lines, and a value that is not ASCII."""
        self.send_response(200)
        self.send_header("X-Multi", "one")
        self.send_header("X-Multi", "two")
        self.send_header("X-Place", "Zürich")
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"raw")

    def _stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(b"first chunk ")
        self.server.release.wait(10)
        for _ in range(64):
            self._chunk(b"x" * 65536)
        self._chunk(b"")

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer


@pytest.fixture
def upstream():
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def route(upstream, scopes):
    return GatewayRoute.objects.create(
        name="Photo API", prefix="photo-api", upstream_url=upstream.url + "/v1",
        required_scopes={"GET": ["photos"], "POST": ["photos/write"], "PUT": ["photos/write"]}, timeout=5,
    )


@pytest.fixture
def gateway(server, route):
    return f"{server.url}/gateway/{route.prefix}"


@pytest.fixture
def mobile_app(make_client):
    return make_client("Trusted Mobile App", grants=(G.PASSWORD, G.REFRESH_TOKEN))


@pytest.fixture
def alice_token(server, mobile_app, alice):
    return user_token(server, mobile_app, "alice", "photos photos/write")


@pytest.fixture
def as_alice(alice_token):
    return bearer(alice_token)


# --- what goes through ---------------------------------------------------------------------

def test_method_path_rest_query_and_body_reach_the_upstream(gateway, upstream, as_alice):
    r = requests.post(f"{gateway}/albums/7/photos?size=large&tag=a%20b&tag=c", data=b"raw \x00 body",
                      headers={**as_alice, "Content-Type": "application/octet-stream", "X-Request-Tag": "t-1"})
    assert r.status_code == 201
    got = upstream.last
    assert got["method"] == "POST"
    assert got["path"] == "/v1/albums/7/photos"
    assert got["query"] == "size=large&tag=a%20b&tag=c"
    assert got["body"] == b"raw \x00 body"
    assert got["headers"]["Content-Type"] == "application/octet-stream"
    assert got["headers"]["X-Request-Tag"] == "t-1"


def test_escaped_path_characters_reach_the_upstream_escaped(gateway, upstream, as_alice):
    requests.get(f"{gateway}/a%20b/c%3Fd/%C3%A9", headers=as_alice)
    assert upstream.last["path"] == "/v1/a%20b/c%3Fd/%C3%A9"


def test_prefix_alone_reaches_the_upstream_base(gateway, upstream, as_alice):
    requests.get(gateway, headers=as_alice)
    assert upstream.last["path"] == "/v1"
    requests.get(gateway + "/", headers=as_alice)
    assert upstream.last["path"] == "/v1/"


def test_upstream_never_sees_the_token_and_gets_the_identity_headers(gateway, upstream, as_alice, alice, mobile_app):
    requests.get(f"{gateway}/albums", headers=as_alice)
    headers = upstream.last["headers"]
    assert "Authorization" not in headers
    assert headers["X-Authenticated-User"] == str(alice.pk)
    assert headers["X-Client-Id"] == mobile_app.client_id
    assert headers["X-Scopes"] == "photos photos/write"
    assert "oauth-gateway" in headers["Via"]


def test_identity_headers_sent_by_the_caller_are_replaced(gateway, upstream, as_alice, alice, mobile_app):
    spoofed = {"X-Authenticated-User": "bob", "x-client-id": "someone-else", "X-SCOPES": "admin"}
    requests.get(f"{gateway}/albums", headers={**as_alice, **spoofed})
    headers = upstream.last["headers"]
    assert headers.get_all("X-Authenticated-User") == [str(alice.pk)]
    assert headers.get_all("X-Client-Id") == [mobile_app.client_id]
    assert headers.get_all("X-Scopes") == ["photos photos/write"]


def test_client_credentials_token_reaches_the_upstream_without_a_user(server, gateway, upstream, backup_service):
    token = service_token(server, backup_service, "photos")
    r = requests.get(f"{gateway}/albums", headers={**bearer(token), "X-Authenticated-User": "alice"})
    assert r.status_code == 200
    assert "X-Authenticated-User" not in upstream.last["headers"]
    assert upstream.last["headers"]["X-Client-Id"] == backup_service.client_id


def test_hop_by_hop_headers_are_not_forwarded(gateway, upstream, as_alice):
    requests.get(f"{gateway}/albums", headers={**as_alice, "Connection": "keep-alive, X-Hop-Secret",
                                               "X-Hop-Secret": "for the gateway only", "Keep-Alive": "timeout=9",
                                               "Proxy-Authorization": "Basic c2VjcmV0"})
    headers = upstream.last["headers"]
    assert "X-Hop-Secret" not in headers and "Proxy-Authorization" not in headers
    assert headers.get("Keep-Alive") is None


def test_upstream_status_headers_and_body_come_back(gateway, as_alice):
    r = requests.post(f"{gateway}/albums", json={"title": "x"}, headers=as_alice)
    assert r.status_code == 201
    assert r.json() == {"you_sent": "/v1/albums"}
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Upstream-Version"] == "7"
    assert "X-Upstream-Hop" not in r.headers and "Keep-Alive" not in r.headers


def test_cookies_do_not_cross_the_gateway(gateway, upstream, as_alice):
    # Our session cookie is not the upstream's business, and an upstream may not set cookies on our origin.
    r = requests.post(f"{gateway}/albums", json={"title": "x"}, headers={**as_alice, "Cookie": "sessionid=ours"})
    assert "Cookie" not in upstream.last["headers"]
    assert "upstream_session" not in r.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("path", ["/%2e%2e/%2e%2e/secret", "/..%2f..%2fsecret", "/a/../../secret", "/%2E/secret"])
def test_dot_segments_cannot_climb_out_of_the_route(gateway, upstream, as_alice, path):
    r = requests.get(f"{gateway}{path}", headers=as_alice)
    assert r.status_code in (400, 404), r.text
    assert all("secret" not in seen["path"] for seen in upstream.received)


def test_response_headers_keep_their_bytes_and_get_no_content_type_added(gateway, as_alice):
    r = requests.get(f"{gateway}/bare", headers=as_alice)
    assert r.content == b"raw"
    assert "Content-Type" not in r.headers
    assert r.headers["X-Multi"] == "one, two"
    assert r.headers["X-Place"].encode("latin-1") == "Zürich".encode("latin-1")


def test_request_header_that_is_not_ascii_reaches_the_upstream_unchanged(gateway, upstream, as_alice):
    r = requests.get(f"{gateway}/albums", headers={**as_alice, "X-Place": "Zürich".encode("latin-1")})
    assert r.status_code == 200
    assert upstream.last["headers"]["X-Place"] == "Zürich"


def test_head_follows_the_get_rule(gateway, upstream, server, mobile_app, alice):
    reader = bearer(user_token(server, mobile_app, "alice", "photos"))
    r = requests.head(f"{gateway}/albums", headers=reader)
    assert r.status_code == 200 and upstream.last["method"] == "HEAD"


def test_large_response_is_streamed_as_it_arrives(gateway, upstream, as_alice):
    with requests.get(f"{gateway}/stream", headers=as_alice, stream=True, timeout=10) as r:
        assert r.status_code == 200
        first = r.raw.read(12)  # arrives while the upstream still holds back the rest
        assert first == b"first chunk "
        upstream.release.set()
        body = first + r.raw.read()
    assert len(body) == len(b"first chunk ") + 64 * 65536


# --- what is refused -----------------------------------------------------------------------

def test_request_without_a_token_is_refused_and_not_forwarded(gateway, upstream):
    r = requests.get(f"{gateway}/albums")
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"
    assert upstream.received == []


def test_unknown_token_is_refused_and_not_forwarded(gateway, upstream):
    r = requests.get(f"{gateway}/albums", headers=bearer("forged"))
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"
    assert upstream.received == []


def test_token_in_the_query_string_is_refused_and_not_forwarded(gateway, upstream, alice_token):
    r = requests.get(f"{gateway}/albums", params={"access_token": alice_token})
    assert r.status_code == 400 and challenge(r)["error"] == "invalid_request"
    assert upstream.received == []


def test_token_without_the_routes_scope_is_refused_with_insufficient_scope(gateway, upstream, server, mobile_app,
                                                                             alice):
    reader = bearer(user_token(server, mobile_app, "alice", "photos"))
    assert requests.get(f"{gateway}/albums", headers=reader).status_code == 200
    r = requests.post(f"{gateway}/albums", json={"title": "x"}, headers=reader)
    assert r.status_code == 403
    assert challenge(r)["error"] == "insufficient_scope" and challenge(r)["scope"] == "photos/write"
    assert r.json()["error"] == "insufficient_scope"
    assert [got["method"] for got in upstream.received] == ["GET"]


def test_method_the_route_does_not_list_is_refused_with_405(gateway, upstream, as_alice):
    r = requests.delete(f"{gateway}/albums/7", headers=as_alice)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD, POST, PUT"
    assert r.json()["error"] == "method_not_allowed"
    assert upstream.received == []


@pytest.mark.parametrize("path", ["/gateway/no-such-api/albums", "/gateway/no-such-api", "/gateway/",
                                  "/gateway/caf%C3%A9/x", "/gateway//x"])
def test_unknown_route_answers_404(server, as_alice, upstream, path):
    r = requests.get(server.url + path, headers=as_alice)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_disabled_route_answers_404(gateway, route, upstream, as_alice):
    GatewayRoute.objects.filter(pk=route.pk).update(enabled=False)
    r = requests.get(f"{gateway}/albums", headers=as_alice)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert upstream.received == []


def test_revoked_token_is_refused_on_the_very_next_call(gateway, upstream, server, mobile_app, alice_token):
    assert requests.get(f"{gateway}/albums", headers=bearer(alice_token)).status_code == 200
    assert requests.get(server.url + "/api/photos/", headers=bearer(alice_token)).status_code == 200
    revoke(server, mobile_app, alice_token)
    r = requests.get(f"{gateway}/albums", headers=bearer(alice_token))
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"
    assert requests.get(server.url + "/api/photos/", headers=bearer(alice_token)).status_code == 401
    assert len(upstream.received) == 1


def test_token_of_a_disabled_client_is_refused(gateway, upstream, mobile_app, as_alice):
    mobile_app.model.enabled = False
    mobile_app.model.save(update_fields=["enabled"])
    r = requests.get(f"{gateway}/albums", headers=as_alice)
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"


# --- when the upstream or the body is the problem ------------------------------------------

def test_unreachable_upstream_answers_502(gateway, route, as_alice):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    GatewayRoute.objects.filter(pk=route.pk).update(upstream_url=f"http://127.0.0.1:{closed_port}/v1")
    r = requests.get(f"{gateway}/albums", headers=as_alice)
    assert r.status_code == 502
    assert r.json()["error"] == "bad_gateway"


def test_upstream_slower_than_the_route_timeout_answers_504(gateway, route, upstream, as_alice):
    GatewayRoute.objects.filter(pk=route.pk).update(timeout=0.3)
    started = time.monotonic()
    r = requests.get(f"{gateway}/slow/3", headers=as_alice)
    assert r.status_code == 504
    assert r.json()["error"] == "gateway_timeout"
    assert time.monotonic() - started < 2


def test_upstream_within_the_route_timeout_answers(gateway, route, as_alice):
    GatewayRoute.objects.filter(pk=route.pk).update(timeout=2)
    assert requests.get(f"{gateway}/slow/0.2", headers=as_alice).status_code == 200


def test_body_over_the_limit_answers_413_without_reaching_the_upstream(gateway, upstream, as_alice, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 1000
    r = requests.post(f"{gateway}/albums", data=b"x" * 1001, headers=as_alice)
    assert r.status_code == 413
    assert r.json()["error"] == "request_too_large"
    assert upstream.received == []


def test_body_at_the_limit_goes_through(gateway, upstream, as_alice, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 1000
    r = requests.post(f"{gateway}/albums", data=b"x" * 1000, headers=as_alice)
    assert r.status_code == 201
    assert upstream.last["body"] == b"x" * 1000


def test_chunked_body_this_server_cannot_decode_answers_411(gateway, upstream, as_alice):
    # The test server (wsgiref) does not decode chunked request bodies; gunicorn does, and the gateway
    # then counts the body as it streams (see tests/unit/test_gateway_body.py).
    r = requests.post(f"{gateway}/albums", data=iter([b"abc", b"def"]), headers=as_alice)
    assert r.status_code == 411
    assert upstream.received == []


# --- managed in the admin ------------------------------------------------------------------

def test_admin_puts_an_upstream_behind_the_gateway(admin_client, server, upstream, scopes, as_alice):
    r = admin_client.post("/admin/resources/gatewayroute/add/", {
        "name": "Albums", "prefix": "albums", "upstream_url": upstream.url + "/v1",
        "required_scopes": '{"GET": ["photos"]}', "enabled": "on", "timeout": "5",
    })
    assert r.status_code == 302, r.content
    answer = requests.get(f"{server.url}/gateway/albums/2026?x=1", headers=as_alice)
    assert answer.status_code == 200
    assert (upstream.last["path"], upstream.last["query"]) == ("/v1/2026", "x=1")
    assert "albums" in admin_client.get("/admin/resources/gatewayroute/").content.decode()


@pytest.mark.parametrize("rules, message", [
    ('{"GET": ["no-such-scope"]}', "Unknown scope(s): no-such-scope"),
    ("{}", "Map at least one HTTP method"),
    ('{"get": ["photos"]}', "upper-case HTTP method"),
    ('{"GET": "photos"}', "must be a list"),
])
def test_admin_refuses_scope_rules_that_cannot_work(admin_client, scopes, rules, message):
    r = admin_client.post("/admin/resources/gatewayroute/add/", {
        "name": "Albums", "prefix": "albums", "upstream_url": "http://127.0.0.1:9/v1",
        "required_scopes": rules, "enabled": "on", "timeout": "5",
    })
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not GatewayRoute.objects.exists()


# --- the forwarding client itself (resources/gateway/forwarding.py) -----------------------------------
def test_a_body_of_unknown_length_is_sent_upstream_chunked(upstream, route):
    from resources.gateway import forwarding

    answer = forwarding.send(route, "PUT", url=upstream.url + "/v1/items", headers=[("Content-Type", "text/plain")],
                             body=iter([b"first,", b"second"]), length=None)
    b"".join(forwarding.streamed_response(answer).streaming_content)
    assert upstream.last["body"] == b"first,second"
    assert upstream.last["headers"]["Transfer-Encoding"] == "chunked"


def test_a_response_abandoned_half_way_does_not_spoil_the_next_call(upstream, route):
    from resources.gateway import forwarding

    abandoned = forwarding.streamed_response(
        forwarding.send(route, "GET", url=upstream.url + "/v1/stream", headers=[], body=None, length=None))
    chunks = iter(abandoned.streaming_content)
    assert next(chunks)  # the first chunk came; then the caller went away
    abandoned.close()
    upstream.release.set()
    answer = forwarding.send(route, "GET", url=upstream.url + "/v1/again", headers=[], body=None, length=None)
    body = b"".join(forwarding.streamed_response(answer).streaming_content)
    assert answer.status == 200 and json.loads(body) == {"you_sent": "/v1/again"}
