"""Transport security follows the scheme of OAUTH_ISSUER (settings are read at start-up, so each case is a fresh process)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.test import Client
out = {}
for name, extra in [("plain", {}), ("proxied", {"HTTP_X_FORWARDED_PROTO": "https"}),
                    ("spoofed", {"HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "203.0.113.9"})]:
    r = Client(**extra).get("/accounts/login/")
    cookie = r.cookies.get("csrftoken")
    out[name] = {"status": r.status_code, "location": r.get("Location"), "hsts": r.get("Strict-Transport-Security"),
                 "secure_cookie": bool(cookie and cookie["secure"])}
print(json.dumps(out))
"""


def probe(issuer):
    env = dict(os.environ, OAUTH_ISSUER=issuer, DEBUG="0", SECRET_KEY="x" * 60, TRUSTED_PROXIES="127.0.0.1",
               ALLOWED_HOSTS="testserver,auth.example.com", DJANGO_SETTINGS_MODULE="config.settings")
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_https_issuer_redirects_plain_http_and_sends_hsts_and_secure_cookies():
    result = probe("https://auth.example.com")
    assert result["plain"]["status"] == 301 and result["plain"]["location"].startswith("https://")
    assert result["proxied"]["status"] == 200
    assert "max-age=" in result["proxied"]["hsts"]
    assert result["proxied"]["secure_cookie"] is True


def test_forwarded_proto_from_an_untrusted_address_is_ignored():
    result = probe("https://auth.example.com")
    assert result["spoofed"]["status"] == 301


def test_http_issuer_has_none_of_it_even_with_debug_off():
    result = probe("http://127.0.0.1:8000")
    assert result["plain"]["status"] == 200
    assert result["plain"]["hsts"] is None and result["plain"]["secure_cookie"] is False
