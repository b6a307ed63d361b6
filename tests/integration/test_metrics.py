"""/metrics: Prometheus counters of requests, tokens, OAuth errors and gateway failures; closed to the public."""

import base64
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from prometheus_client import REGISTRY

from oauth_server.constants import GrantType as G
from resources.models import GatewayRoute
from tests.conftest import PASSWORDS

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "203.0.113.7"  # TEST-NET-3: never routed, only written into REMOTE_ADDR
METRICS_TOKEN = "m" * 40


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def basic(client):
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()


@pytest.fixture
def http():
    return Client()


def form_post(http, path, data, **headers):
    return http.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **headers)


def token_request(http, client, **data):
    return form_post(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic(client))


# --- who may read /metrics -----------------------------------------------------------------------------------
def test_metrics_answer_loopback_in_the_prometheus_text_format(http):
    r = http.get("/metrics")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in r["Cache-Control"]
    assert b"# TYPE http_requests_total counter" in r.content
    openmetrics = http.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text")


def test_metrics_are_an_ordinary_404_for_the_public(http):
    hidden = http.get("/metrics", REMOTE_ADDR=PUBLIC)
    missing = http.get("/no-such-page", REMOTE_ADDR=PUBLIC)
    assert hidden.status_code == 404
    assert hidden.content == missing.content
    assert hidden["Content-Type"] == missing["Content-Type"]


def test_a_proxied_request_from_loopback_is_not_trusted_by_address(http, settings):
    """A TLS proxy on the same host forwards everybody's requests from 127.0.0.1."""
    assert http.get("/metrics", HTTP_X_FORWARDED_FOR=PUBLIC).status_code == 404
    assert http.get("/metrics", HTTP_FORWARDED=f"for={PUBLIC}").status_code == 404
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert http.get("/metrics").status_code == 404


def test_the_metrics_token_opens_metrics_from_anywhere(http, settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    assert http.get("/metrics", REMOTE_ADDR=PUBLIC, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").status_code == 200
    assert http.get("/metrics", REMOTE_ADDR=PUBLIC, HTTP_AUTHORIZATION=f"bearer {METRICS_TOKEN}").status_code == 200
    assert http.get("/metrics", HTTP_X_FORWARDED_FOR=PUBLIC, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").status_code == 200
    for wrong in (f"Bearer {METRICS_TOKEN[:-1]}", f"Bearer {METRICS_TOKEN}x", f"Basic {METRICS_TOKEN}", "Bearer ",
                  "Bearer \xe9t\xe9"):
        assert http.get("/metrics", REMOTE_ADDR=PUBLIC, HTTP_AUTHORIZATION=wrong).status_code == 404, wrong


def test_no_token_is_accepted_when_none_is_configured(http, settings):
    settings.METRICS_TOKEN = ""
    assert http.get("/metrics", REMOTE_ADDR=PUBLIC, HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_allowed_addresses_may_be_networks(http, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert http.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert http.get("/metrics").status_code == 404  # 127.0.0.1 is no longer listed


# --- what is counted ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_token_requests_count_by_endpoint_status_and_grant(http, backup_service):
    before = {
        "requests": sample("http_requests_total", endpoint="oauth:token", method="POST", status="200"),
        "issued": sample("oauth_tokens_issued_total", grant_type="client_credentials"),
        "latency": sample("http_request_duration_seconds_count", endpoint="oauth:token", method="POST"),
    }
    r = token_request(http, backup_service, grant_type="client_credentials")
    assert r.status_code == 200, r.content
    assert sample("http_requests_total", endpoint="oauth:token", method="POST", status="200") == before["requests"] + 1
    assert sample("oauth_tokens_issued_total", grant_type="client_credentials") == before["issued"] + 1
    assert sample("http_request_duration_seconds_count", endpoint="oauth:token", method="POST") == before["latency"] + 1


@pytest.mark.django_db
def test_oauth_errors_count_by_their_rfc_6749_code(http, backup_service):
    def errors(code, endpoint="oauth:token"):
        return sample("oauth_errors_total", endpoint=endpoint, error=code)

    before = {code: errors(code) for code in ("invalid_client", "unsupported_grant_type", "invalid_request", "other")}
    wrong_secret = type(backup_service)(client_id=backup_service.client_id, secret="wrong")
    assert token_request(http, wrong_secret, grant_type="client_credentials").status_code == 401
    assert token_request(http, backup_service, grant_type="urn:example:magic").status_code == 400
    assert http.post("/oauth/token", "{}", content_type="application/json").status_code == 400
    assert errors("invalid_client") == before["invalid_client"] + 1
    assert errors("unsupported_grant_type") == before["unsupported_grant_type"] + 1
    assert errors("invalid_request") == before["invalid_request"] + 1
    assert errors("other") == before["other"]

    before_token = errors("invalid_token", endpoint="oauth:tokeninfo")
    assert http.get("/oauth/tokeninfo", {"access_token": "nope"}).status_code == 400
    assert errors("invalid_token", endpoint="oauth:tokeninfo") == before_token + 1

    before_api = errors("invalid_token", endpoint="resources:userinfo")
    assert http.get("/api/userinfo", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert errors("invalid_token", endpoint="resources:userinfo") == before_api + 1


@pytest.mark.django_db
def test_authorization_endpoint_redirects_count_codes_and_errors(http, photo_printer, alice):
    from tests.conftest import PRINTER_CALLBACK

    http.force_login(alice)
    params = {"client_id": photo_printer.client_id, "response_type": "code", "redirect_uri": PRINTER_CALLBACK,
              "scope": "photos", "state": "s"}
    codes = sample("oauth_authorizations_total", response_type="code")
    denied = sample("oauth_errors_total", endpoint="oauth:authorize", error="access_denied")
    page = http.get("/oauth/authorize", params)
    assert page.status_code == 200
    form = {**params, "redirect_uri": PRINTER_CALLBACK, "allow": "Authorize"}
    allowed = form_post(http, "/oauth/authorize", form)
    assert allowed.status_code == 302 and "code=" in allowed["Location"]
    refused = form_post(http, "/oauth/authorize", {k: v for k, v in form.items() if k != "allow"})
    assert refused.status_code == 302 and "error=access_denied" in refused["Location"]
    assert sample("oauth_authorizations_total", response_type="code") == codes + 1
    assert sample("oauth_errors_total", endpoint="oauth:authorize", error="access_denied") == denied + 1


@pytest.mark.django_db
def test_endpoints_are_url_names_and_labels_never_carry_secrets_or_users(http, make_client, alice):
    mobile = make_client("Mobile", grants=(G.PASSWORD,))
    r = token_request(http, mobile, grant_type="password", username="alice", password=PASSWORDS["alice"], scope="photos")
    assert r.status_code == 200
    token = r.json()["access_token"]
    http.get("/api/photos/123456789/", HTTP_AUTHORIZATION=f"Bearer {token}")
    http.get("/no/such/path/with-a-secret-ish-name")
    http.generic("BREW", "/oauth/token")
    exposition = http.get("/metrics").content.decode()
    assert 'endpoint="resources:photo-detail"' in exposition
    assert 'endpoint="unmatched"' in exposition
    assert 'method="other"' in exposition and "BREW" not in exposition
    for secret in (token, mobile.secret, mobile.client_id, "alice", PASSWORDS["alice"], "123456789", "secret-ish"):
        assert secret not in exposition, secret
    assert sample("oauth_tokens_issued_total", grant_type="password") >= 1


@pytest.mark.django_db
def test_made_up_grant_types_and_error_codes_are_counted_as_other(http, backup_service):
    """A label never takes a value a caller made up: unknown values are "other"."""
    from ops import metrics

    assert metrics.bounded("urn:made-up", metrics.GRANT_TYPES) == "other"
    assert metrics.bounded("invalid_grant", metrics.OAUTH_ERROR_CODES) == "invalid_grant"
    assert metrics.bounded(None, metrics.OAUTH_ERROR_CODES) == "other"


# --- the gateway's upstream failures ----------------------------------------------------------------------
class FailingUpstream(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FailingUpstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_gateway_upstream_failures_are_counted_by_route_and_kind(http, backup_service, failing_upstream):
    token = token_request(http, backup_service, grant_type="client_credentials", scope="photos").json()["access_token"]
    GatewayRoute.objects.create(name="Down", prefix="down", upstream_url="http://127.0.0.1:9/v1",
                                required_scopes={"GET": ["photos"]}, timeout=2)
    GatewayRoute.objects.create(name="Broken", prefix="broken", upstream_url=failing_upstream + "/v1",
                                required_scopes={"GET": ["photos"]}, timeout=2)
    unreachable = sample("gateway_upstream_errors_total", route="down", kind="unreachable")
    upstream_5xx = sample("gateway_upstream_errors_total", route="broken", kind="upstream_5xx")
    r = http.get("/gateway/down/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 502
    r = http.get("/gateway/broken/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 500 and b"".join(r.streaming_content) == b"{}"
    assert sample("gateway_upstream_errors_total", route="down", kind="unreachable") == unreachable + 1
    assert sample("gateway_upstream_errors_total", route="broken", kind="upstream_5xx") == upstream_5xx + 1


# --- several worker processes ------------------------------------------------------------------------------
def run_python(code, env):
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_multiprocess_mode_adds_up_every_workers_samples(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.pop("prometheus_multiproc_dir", None)
    for _worker in range(2):
        run_python("from ops import metrics; metrics.TOKENS_ISSUED.labels('password').inc(3)", env)
    out = run_python("from ops import metrics; print(metrics.exposition()[0].decode())", env)
    assert 'oauth_tokens_issued_total{grant_type="password"} 6.0' in out

    # The gunicorn hook empties the directory when the server starts.
    run_python("from ops.gunicorn_hooks import on_starting; on_starting(None)", env)
    assert not list(tmp_path.glob("*.db"))


def test_a_missing_multiprocess_directory_is_reported_not_crashed_on(tmp_path):
    """Django starts (manage.py check can report ops.E002) and /metrics answers 503, not a traceback."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing"), "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = run_python("import django; django.setup(); from django.test import Client; "
                     "r = Client().get('/metrics', HTTP_HOST='localhost'); print(r.status_code, r.content)", env)
    assert out.startswith("503 b'metrics unavailable")
    assert not (tmp_path / "missing").exists()


# --- start-up checks ----------------------------------------------------------------------------------------
def test_bad_operations_settings_fail_the_system_checks(settings, tmp_path, monkeypatch):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "not-an-address"]
    with pytest.raises(SystemCheckError, match="ops.E001"):
        call_command("check")
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(SystemCheckError, match="ops.E002"):
        call_command("check")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    settings.METRICS_TOKEN = "short"
    from ops.checks import check_operations_settings

    assert [p.id for p in check_operations_settings(None)] == ["ops.W001"]
