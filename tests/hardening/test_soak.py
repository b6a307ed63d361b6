"""Soak: a bounded load against a real gunicorn server (several workers, 127.0.0.1 only), restarted halfway.

Several threads mix every grant (client credentials, password, authorization code through the real login
and consent forms, refresh, JWT-bearer and SAML-bearer when offered), revocations, token checks and API
calls (/api/userinfo, /api/photos/ read and write) for a fixed time. Each thread keeps a ledger of every
token it was issued and what it did to it. Halfway the server is stopped and started again on the same
database and port; the tokens issued before must still work after. At the end:
- no 5xx, and no answer other than the one each call must get;
- every access token the test holds is valid and every token it revoked or rotated is refused, through
  HTTP (tokeninfo, introspection) and in the database;
- nothing lost or duplicated: the token rows of the clients used are exactly the live tokens of the
  ledger (by checksum), no checksum twice, no code left unexchanged, one photo row per 201;
- the Prometheus counters (multiprocess mode, summed over the workers) grew by what the test was issued.
Rate limits are off for this server: one address (127.0.0.1) makes all the load; they are tested in
test_several_servers.py. Short form: ~24 s of load; LONG_TESTS=1: 3 minutes.
"""

import hashlib
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from oauth_server.constants import GrantType
from samples.user_agent import Browser
from tests.hardening.conftest import scaled, skip_unless_postgresql
from tests.hardening.grants import (
    TIMEOUT,
    authorization_code,
    code_exchange,
    grant_types_supported,
    jwt_assertion,
    jwt_exchange,
    saml_assertion,
    saml_exchange,
)

skip_unless_postgresql()
pytestmark = pytest.mark.django_db(transaction=True)

LOAD_SECONDS = scaled(24, 180)
THREADS = scaled(6, 8)
ALL_SCOPES = "photos photos/write userinfo/readonly"
NO_RATE_LIMITS = {f"RATE_LIMIT_{endpoint}_PER_{who}": "0" for endpoint in ("TOKEN", "REVOKE", "INTROSPECT")
                  for who in ("CLIENT", "IP")}


def checksum(token):
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Token:
    value: str
    kind: str  # "access" or "refresh"
    client: str  # key in the demo clients file, or "saml"
    grant: str
    phase: int
    scope: str = ""
    user: bool = True
    state: str = "live"  # "live", "revoked" (by us), "rotated" (refreshed), "orphaned" (its access token revoked)
    pair: "Token" = None


@dataclass
class Ledger:
    tokens: list = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    photos_created: int = 0
    issued: Counter = field(default_factory=Counter)  # access tokens issued, by (phase, grant)

    def live(self, kind, **where):
        return [t for t in self.tokens if t.kind == kind and t.state == "live"
                and all(getattr(t, k) == v for k, v in where.items())]


class Load:
    """One thread's share of the load: its own HTTP session, browser and ledger."""

    def __init__(self, server, world, seed, offers):
        self.server, self.world, self.rng = server, world, random.Random(seed)
        self.session = requests.Session()
        self.browser = Browser()
        self.username = "alice" if seed % 2 else "bob"
        self.ledger = Ledger()
        actions = [(self.client_credentials, 3), (self.password, 1), (self.code, 2), (self.refresh, 2),
                   (self.revoke, 2), (self.call_api, 6), (self.tokeninfo, 1)]
        if GrantType.JWT_BEARER in offers:
            actions.append((self.jwt, 1))
        if GrantType.SAML2_BEARER in offers:
            actions.append((self.saml, 1))
        self.actions = [a for a, weight in actions for _ in range(weight)]

    # --- bookkeeping ---------------------------------------------------------------------------
    def expect(self, name, response, *statuses):
        self.ledger.calls[(name, response.status_code)] += 1
        if response.status_code not in statuses:
            self.ledger.failures.append(f"{name}: HTTP {response.status_code} (expected {statuses}): {response.text[:300]}")
            return False
        return True

    def record(self, body, client, grant, phase, user=True):
        access = Token(body["access_token"], "access", client, grant, phase, body.get("scope", ""), user)
        self.ledger.tokens.append(access)
        self.ledger.issued[(phase, grant)] += 1
        if "refresh_token" in body:
            refresh = Token(body["refresh_token"], "refresh", client, grant, phase, body.get("scope", ""), user)
            access.pair, refresh.pair = refresh, access
            self.ledger.tokens.append(refresh)

    def credentials(self, client):
        if client == "saml":
            c = self.world.saml_client
        else:
            c = self.world.clients[client]
        return c["client_id"], c["client_secret"]

    # --- actions ----------------------------------------------------------------------------------
    def client_credentials(self, phase):
        r = self.session.post(self.server.token, data={"grant_type": "client_credentials", "scope": "photos"},
                              auth=self.credentials("client-credentials"), timeout=TIMEOUT)
        if self.expect("client_credentials", r, 200):
            self.record(r.json(), "client-credentials", "client_credentials", phase, user=False)

    def password(self, phase):
        r = self.session.post(self.server.token, data={"grant_type": "password", "username": self.username,
                                                       "password": self.world.users[self.username]["password"],
                                                       "scope": ALL_SCOPES},
                              auth=self.credentials("password"), timeout=TIMEOUT)
        if self.expect("password", r, 200):
            self.record(r.json(), "password", "password", phase)

    def code(self, phase):
        code = authorization_code(self.server, self.world.clients, self.world.users, self.browser, self.username,
                                  scope=ALL_SCOPES)
        r = code_exchange(self.server, self.world.clients, code, self.session)
        if self.expect("authorization_code", r, 200):
            self.record(r.json(), "authorization-code", "authorization_code", phase)

    def refresh(self, phase):
        candidates = self.ledger.live("refresh")
        if not candidates:
            return self.password(phase)
        old = self.rng.choice(candidates)
        r = self.session.post(self.server.token, data={"grant_type": "refresh_token", "refresh_token": old.value},
                              auth=self.credentials(old.client), timeout=TIMEOUT)
        if self.expect("refresh_token", r, 200):
            old.state = old.pair.state = "rotated"
            self.record(r.json(), old.client, "refresh_token", phase)

    def revoke(self, phase):
        candidates = self.ledger.live("access") + self.ledger.live("refresh")
        candidates = [t for t in candidates if self.credentials(t.client)[1]]  # revoking needs the client's secret
        if not candidates:
            return
        token = self.rng.choice(candidates)
        r = self.session.post(self.server.url + "/oauth/revoke",
                              data={"token": token.value, "token_type_hint": f"{token.kind}_token"},
                              auth=self.credentials(token.client), timeout=TIMEOUT)
        if self.expect("revoke", r, 200):
            token.state = "revoked"
            if token.pair is not None and token.pair.state == "live":
                # Revoking a refresh token revokes its access token; revoking an access token leaves its
                # refresh token without an access token, which DOT refuses from then on.
                token.pair.state = "revoked" if token.kind == "refresh" else "orphaned"

    def call_api(self, phase):
        tokens = self.ledger.live("access")
        if not tokens:
            return self.client_credentials(phase)
        token = self.rng.choice(tokens)
        headers = {"Authorization": f"Bearer {token.value}"}
        scopes = set(token.scope.split())
        if not token.user:
            r = self.session.get(self.server.url + "/api/photos/", headers=headers, timeout=TIMEOUT)
            self.expect("api without a user", r, 403)
        elif "photos/write" in scopes and self.rng.random() < 0.25:
            r = self.session.post(self.server.url + "/api/photos/", headers=headers, timeout=TIMEOUT,
                                  json={"title": f"soak {uuid.uuid4().hex[:8]}",
                                        "image_url": "https://images.example/soak.jpg"})
            if self.expect("create photo", r, 201):
                self.ledger.photos_created += 1
        elif "userinfo/readonly" in scopes and self.rng.random() < 0.5:
            r = self.session.get(self.server.url + "/api/userinfo", headers=headers, timeout=TIMEOUT)
            self.expect("userinfo", r, 200)
        else:
            r = self.session.get(self.server.url + "/api/photos/", headers=headers, timeout=TIMEOUT)
            self.expect("list photos", r, 200)

    def tokeninfo(self, phase):
        tokens = self.ledger.live("access")
        if tokens:
            r = self.session.get(self.server.url + "/oauth/tokeninfo",
                                 params={"access_token": self.rng.choice(tokens).value}, timeout=TIMEOUT)
            self.expect("tokeninfo", r, 200)

    def jwt(self, phase):
        r = jwt_exchange(self.server, jwt_assertion(self.server, self.world.clients, self.username), self.session)
        if self.expect("jwt-bearer", r, 200):
            self.record(r.json(), "jwt-bearer", GrantType.JWT_BEARER.value, phase)

    def saml(self, phase):
        assertion = saml_assertion(self.server, self.world.idp, self.username)
        r = saml_exchange(self.server, self.world.saml_client, assertion, self.session)
        if self.expect("saml2-bearer", r, 200):
            self.record(r.json(), "saml", GrantType.SAML2_BEARER.value, phase)

    def run(self, phase, deadline, max_calls):
        for _ in range(max_calls):  # bounded in count as well as in time
            if time.monotonic() >= deadline:
                break
            action = self.rng.choice(self.actions)
            try:
                action(phase)
            except Exception as error:  # noqa: BLE001 - a broken connection or the like: a failure
                self.ledger.failures.append(f"{action.__name__}: {type(error).__name__}: {error}")


def run_phase(loads, phase, seconds):
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=load.run, args=(phase, deadline, 20_000)) for load in loads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    assert not any(thread.is_alive() for thread in threads), "a load thread did not stop"


@pytest.fixture(scope="module")
def soak_server(start_servers, tmp_path_factory):
    metrics_dir = tmp_path_factory.mktemp("prometheus-multiproc")
    (server,) = start_servers(workers=3, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), **NO_RATE_LIMITS)
    return server


def scrape(server):
    r = requests.get(server.url + "/metrics", timeout=TIMEOUT)
    assert r.status_code == 200, r.status_code
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def probe_ok(server):
    for path in ("/healthz", "/readyz"):
        r = requests.get(server.url + path, timeout=TIMEOUT)
        assert r.status_code == 200 and r.json() == {"status": "ok"}, (path, r.status_code, r.text)


def test_soak_with_a_restart_loses_nothing(soak_server, hardening_template, server_database, _acme_signer):
    server = soak_server
    world = type("World", (), {"clients": hardening_template.clients, "users": hardening_template.users,
                               "saml_client": hardening_template.saml_client, "idp": _acme_signer})
    offers = grant_types_supported(server)
    loads = [Load(server, world, seed, offers) for seed in range(THREADS)]
    probe_ok(server)

    run_phase(loads, 1, LOAD_SECONDS / 2)
    ledger = merge(loads)
    assert not ledger.failures, ledger.failures[:20]
    live_before = ledger.live("access")

    server.restart()
    probe_ok(server)
    survivors = sample(live_before, scaled(150, 10_000))
    for token in survivors:  # tokens issued before the restart still work after it
        r = requests.get(server.url + "/oauth/tokeninfo", params={"access_token": token.value}, timeout=TIMEOUT)
        assert r.status_code == 200, (token.grant, r.text)

    baseline = scrape(server)
    run_phase(loads, 2, LOAD_SECONDS / 2)
    ledger = merge(loads)
    print(f"soak: {sum(ledger.calls.values())} calls in {LOAD_SECONDS} s, {len(ledger.tokens)} tokens;",
          dict(sorted(Counter(name for name, _status in ledger.calls.elements()).items())))
    assert not ledger.failures, ledger.failures[:20]
    assert "Internal Server Error" not in server.log_tail(10_000_000), server.log_tail()

    for load in loads:  # idle keep-alive connections would hold gunicorn's graceful shutdown
        load.session.close()
        load.browser.session.close()
    check_tokens_over_http(server, world, ledger)
    check_rows(server_database, world, ledger)
    check_metrics(server, ledger, baseline)


def merge(loads):
    merged = Ledger()
    for load in loads:
        merged.tokens += load.ledger.tokens
        merged.calls += load.ledger.calls
        merged.failures += load.ledger.failures
        merged.photos_created += load.ledger.photos_created
        merged.issued += load.ledger.issued
    return merged


def sample(tokens, count):
    return tokens if len(tokens) <= count else random.Random(0).sample(tokens, count)


def check_tokens_over_http(server, world, ledger):
    """Live tokens are active, revoked/rotated/orphaned ones are not: introspection by the resource server."""
    resource_server = world.clients["resource-server"]
    session = requests.Session()
    session.auth = (resource_server["client_id"], resource_server["client_secret"])
    wrong = []
    for token in sample(ledger.tokens, scaled(300, 100_000)):
        r = session.post(server.url + "/oauth/introspect", data={"token": token.value,
                                                                  "token_type_hint": f"{token.kind}_token"},
                         timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        if r.json()["active"] != (token.state == "live"):
            wrong.append((token.kind, token.grant, token.state, token.phase))
    assert not wrong, wrong[:20]


def check_rows(database, world, ledger):
    clients = {key: world.clients[key]["client_id"] for key in
               ("client-credentials", "password", "authorization-code", "jwt-bearer")}
    clients["saml"] = world.saml_client["client_id"]
    pks = dict(database.query("SELECT client_id, id FROM oauth_server_client"))
    ids = tuple(pks[client_id] for client_id in clients.values())
    marks = ", ".join(["%s"] * len(ids))

    issued = [checksum(t.value) for t in ledger.tokens]
    assert len(issued) == len(set(issued)), "the server handed out the same token twice"

    access_rows = [row[0] for row in database.query(
        f"SELECT token_checksum FROM oauth2_provider_accesstoken WHERE application_id IN ({marks})", ids)]
    assert len(access_rows) == len(set(access_rows)), "duplicated access token rows"
    live_access = {checksum(t.value) for t in ledger.live("access")}
    assert live_access - set(access_rows) == set(), "live access tokens lost from the database"
    assert set(access_rows) - live_access == set(), "access token rows the test was never handed, or failed to revoke"

    refresh_rows = [row[0] for row in database.query(
        "SELECT token_checksum FROM oauth2_provider_refreshtoken WHERE revoked IS NULL AND access_token_id IS NOT NULL "
        f"AND application_id IN ({marks})", ids)]
    assert len(refresh_rows) == len(set(refresh_rows)), "duplicated live refresh token rows"
    assert set(refresh_rows) == {checksum(t.value) for t in ledger.live("refresh")}

    codes_left = database.query(f"SELECT COUNT(*) FROM oauth2_provider_grant WHERE application_id IN ({marks})", ids)
    assert codes_left[0][0] == 0, "authorization codes were issued and never exchanged"

    photos = database.query("SELECT COUNT(*) FROM resources_photo WHERE title LIKE %s", ("soak %",))[0][0]
    assert photos == ledger.photos_created


def check_metrics(server, ledger, baseline):
    """The workers' counters, summed by prometheus-client's multiprocess mode, grew by exactly what the
    test was issued in phase 2 (measured as a difference: whether the restart emptied
    PROMETHEUS_MULTIPROC_DIR depends on the gunicorn config wiring ops.gunicorn_hooks)."""
    def by_grant(samples):
        counts = Counter()
        for labels, value in samples.get("oauth_tokens_issued_total", []):
            counts[labels["grant_type"]] += value
        return counts

    after = scrape(server)
    grown = {g: int(v - by_grant(baseline)[g]) for g, v in by_grant(after).items() if v - by_grant(baseline)[g]}
    expected = {grant: n for (phase, grant), n in ledger.issued.items() if phase == 2}
    assert grown == expected
    server_errors = sum(v for labels, v in after.get("http_requests_total", []) if labels["status"].startswith("5"))
    assert server_errors == 0
