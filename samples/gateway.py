"""Calling protected APIs and a gateway route with a token."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

from .common import SampleFailed

UPSTREAM = ("127.0.0.1", 8790)  # seed_demo registers /gateway/demo/ → http://127.0.0.1:8790


class EchoUpstream(BaseHTTPRequestHandler):
    """Stands in for an existing HTTP API behind the gateway: it says who the gateway said is calling."""

    def do_GET(self):
        body = json.dumps({"upstream_path": self.path, "user": self.headers.get("X-Authenticated-User"),
                           "client": self.headers.get("X-Client-Id"), "scopes": self.headers.get("X-Scopes"),
                           "saw_authorization_header": "Authorization" in self.headers}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def run(sample):
    client = sample.client("password")
    user = sample.user()

    sample.step("Get a token for the demo user")
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=client["client_id"]))
    try:
        token = oauth.fetch_token(sample.token_url, username=user["username"], password=user["password"],
                                  client_id=client["client_id"], client_secret=client["client_secret"],
                                  scope=["photos", "userinfo/readonly"])
    except Exception as e:
        raise SampleFailed(f"the token request failed: {e}")
    sample.show_token(token)

    sample.step("Call the built-in protected APIs")
    sample.call_api("/api/userinfo", token["access_token"])
    sample.call_api("/api/photos/", token["access_token"])

    sample.step(f"Start a stand-in upstream API on {UPSTREAM[0]}:{UPSTREAM[1]} and call it through the gateway")
    try:
        upstream = ThreadingHTTPServer(UPSTREAM, EchoUpstream)
    except OSError as e:
        raise SampleFailed(f"cannot listen on {UPSTREAM[0]}:{UPSTREAM[1]} for the upstream ({e.strerror})")
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        answer = sample.call_api("/gateway/demo/albums?year=2026", token["access_token"])
    finally:
        upstream.shutdown()
        upstream.server_close()
    sample.say(f"the upstream saw user={answer['user']!r}, no Authorization header: {not answer['saw_authorization_header']}")
