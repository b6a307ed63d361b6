"""The tiny local web app that receives the authorization server's redirect (the client's callback URL)."""

import queue
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .common import SampleFailed
from .user_agent import Browser

PAGE = b"""<!doctype html><meta charset="utf-8"><title>Sample client</title>
<p>The sample client got the answer. You can close this window and go back to the terminal.</p>
<script>
  // Implicit flow: the token is in the fragment, which browsers never send to a server.
  if (location.hash.length > 1) { fetch("/fragment?" + location.hash.slice(1)); }
</script>"""


class CallbackApp:
    """Serves the redirect URI on 127.0.0.1 and hands over the first full callback URL it sees."""

    def __init__(self, redirect_uri):
        parts = urlsplit(redirect_uri)
        self.redirect_uri = redirect_uri
        self.received = queue.Queue()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = urlsplit(self.path)
                if path.path == "/fragment":
                    app.received.put(redirect_uri + "#" + path.query)
                elif path.path == parts.path:
                    if path.query:
                        app.received.put(redirect_uri + "?" + path.query)
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args):
                pass

        try:
            self.httpd = ThreadingHTTPServer((parts.hostname, parts.port), Handler)
        except OSError as e:
            raise SampleFailed(f"cannot listen on {parts.hostname}:{parts.port} for the callback ({e.strerror})")
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait(self, timeout=300):
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise SampleFailed(f"no callback arrived at {self.redirect_uri} within {timeout} s")


def user_approves(sample, url, app, decision="allow"):
    """Have the demo user approve `url`: in a real browser, or unattended through the real forms."""
    if sample.interactive:
        sample.say(f"open this URL in your browser (trying to open it for you):\n\n   {url}\n")
        webbrowser.open(url)
        sample.say(f"waiting for the redirect to {app.redirect_uri} …")
        return app.wait()
    user = sample.user()
    sample.say(f"(non-interactive) logging in as {user['username']} and pressing '{decision}' on the consent page")
    browser = Browser()
    location = browser.authorize(url, user["username"], user["password"], decision=decision)
    parts = urlsplit(location)
    deliver = location if not parts.fragment else f"{parts.scheme}://{parts.netloc}/fragment?{parts.fragment}"
    browser.session.get(deliver, timeout=10)  # the browser follows the redirect to our callback app
    return app.wait(timeout=10)
