"""The benchmark of issue 7: every hot endpoint against the ceiling of the same stack, in one run.

    .venv/bin/python bench/run.py                 # everything (what `make bench` runs)
    .venv/bin/python bench/run.py --quick         # no 1,000,000-token part, 5-second cases
    .venv/bin/python bench/run.py --cases 1,2,4   # a subset (case numbers, see CASES)
    .venv/bin/python bench/run.py --profile 2,4,6,10   # also py-spy profiles of these cases

What it does, in order (see README.md for how to read the table):
 1. makes a fresh PostgreSQL database bench_<pid> (server and credentials from DATABASE_URL when it names
    PostgreSQL, else postgres://postgres@127.0.0.1:5432), migrates it, runs `manage.py seed_demo --force`,
    bench/seed.py (clients, trusted IdP, gateway route) and bench/seed_tokens.py (1,000 live tokens);
 2. starts gunicorn as production does (sync workers, DEBUG=0) with bench.wsgi: the project's
    config.wsgi and settings, plus the /bench/ceiling route; and a trivial upstream for the gateway;
 3. drives each case with wrk from a separate process on 127.0.0.1, bounded in time;
 4. unless --quick: adds 1,000,000 expired tokens (COPY), runs cases 4 and 6 again, then times
    `manage.py cleartokens`;
 5. runs plain django-oauth-toolkit (bench/dot_baseline) on its own database for cases 2 and 4;
 6. prints one table and writes bench/results/latest.{json,md}; drops every database it made and stops
    every process it started, also on failure or Ctrl-C.
"""

import argparse
import base64
import datetime as dt
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "lua" / "bench.lua"
RESULTS = BENCH / "results"
PYTHON = sys.executable
BIN = Path(sys.executable).parent
GUNICORN = BIN / "gunicorn"
PY_SPY = BIN / "py-spy"

GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
ALICE_PASSWORD = "wonderland-2026"  # manage.py seed_demo's demo user

CASES = {
    1: "ceiling (JSON view, no DB)",
    2: "token client_credentials",
    3: "token refresh_token",
    4: "introspect (opaque)",
    5: "tokeninfo",
    6: "userinfo (opaque)",
    7: "userinfo (JWT access token)",
    8: "gateway -> upstream",
    9: "token JWT-bearer grant",
    10: "token SAML-bearer grant",
}
# Reference rows without a target: the SQL of cases 2, 3 and 4 with no OAuth framework (bench/floors.py).
FLOORS = {key: f"floor of {key}: its SQL, no OAuth framework" for key in ("2", "3", "4")}
FLOOR_PATHS = {"2": "/bench/floor/client-credentials", "3": "/bench/floor/refresh-token",
               "4": "/bench/floor/introspect"}
# Targets of issue 7: minimum ratio to the ceiling.
TARGET_RATIO = {2: 0.4, 3: 0.25, 4: 0.5, 5: 0.5, 6: 0.5, 7: 0.65, 9: 0.3, 10: 0.05}
TARGET_GATEWAY_ADDED_P50_MS = 2.0
TARGET_RSS_MB = 150
TARGET_SCALE = 1.2
PAIRED_ROUNDS = 3  # ceiling/case rounds per ratio case (2 with --quick)


# --- small helpers ------------------------------------------------------------------------------------
def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic(client_id, secret):
    q = urllib.parse.quote
    return "Basic " + base64.b64encode(f"{q(client_id, safe='')}:{q(secret, safe='')}".encode()).decode()


def http(method, url, *, headers=None, form=None, timeout=30):
    """(status, parsed JSON or text) of one request; for set-up and feature probes, not for load."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if form is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


class Cleanup:
    """Callbacks run in reverse order at exit, whatever happened; SIGTERM and SIGHUP become SystemExit."""

    def __init__(self):
        self.callbacks = []
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._signal)

    @staticmethod
    def _signal(signum, frame):
        raise SystemExit(128 + signum)

    def push(self, description, callback):
        self.callbacks.append((description, callback))

    def run(self):
        while self.callbacks:
            description, callback = self.callbacks.pop()
            try:
                callback()
            except Exception as error:  # keep cleaning up
                log(f"cleanup '{description}' failed: {type(error).__name__}: {error}")


# --- PostgreSQL -----------------------------------------------------------------------------------------
class Postgres:
    def __init__(self, url):
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 5432
        self.user = urllib.parse.unquote(parts.username or "postgres")
        self.password = urllib.parse.unquote(parts.password) if parts.password else None

    @classmethod
    def from_environment(cls):
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://", "pgsql://")):
            return cls(url)
        return cls("postgres://postgres@127.0.0.1:5432/postgres")

    def _execute(self, sql, dbname="postgres"):
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                             dbname=dbname, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else None

    def create(self, name):
        self._execute(f'CREATE DATABASE "{name}"')

    def drop(self, name):
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def scalar(self, name, sql):
        return self._execute(sql, dbname=name)[0][0]

    def url(self, name):
        auth = urllib.parse.quote(self.user, safe="")
        if self.password:
            auth += ":" + urllib.parse.quote(self.password, safe="")
        return f"postgres://{auth}@{self.host}:{self.port}/{name}"


# --- processes -----------------------------------------------------------------------------------------
def stop_process_group(process, timeout=10):
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


def run_command(args, env, *, what, timeout=900, capture=True):
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=capture, text=True, timeout=timeout,
                          start_new_session=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{(done.stdout or '')[-2000:]}\n{(done.stderr or '')[-3000:]}")
    return done, time.perf_counter() - started


def children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def proc_status_kb(pid, key):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_ticks(pid):
    """utime + stime of a process (all its threads) and of its children it has waited for (cutime + cstime:
    the xmlsec1 processes pysaml2 runs), in clock ticks; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    except (OSError, IndexError, ValueError):
        return 0


def machine_busy_ticks():
    """Ticks all CPUs spent busy (user, nice, system, irq, softirq, steal) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


def children_cpu_seconds():
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    workers: int
    log_path: Path
    peak_rss_kb: dict = field(default_factory=dict)  # worker pid -> highest VmRSS seen / VmHWM

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self):
        return children(self.process.pid)

    def sample_memory(self, key="VmRSS"):
        for pid in self.worker_pids():
            kb = proc_status_kb(pid, key)
            if kb is not None:
                self.peak_rss_kb[pid] = max(self.peak_rss_kb.get(pid, 0), kb)


def start_gunicorn(name, wsgi, env, workers, log_path, health_path, port=None):
    port = port or free_port()
    log_file = open(log_path, "a")
    process = subprocess.Popen(
        [str(GUNICORN), wsgi, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--graceful-timeout", "5",
         "--timeout", "60"],
        cwd=ROOT, env=env, stdout=log_file, stderr=log_file, start_new_session=True,
    )
    server = Server(name, process, port, workers, log_path)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start-up:\n{Path(log_path).read_text()[-3000:]}")
        try:
            urllib.request.urlopen(server.url + health_path, timeout=2)
            break
        except urllib.error.HTTPError:
            break  # it answers
        except Exception:
            time.sleep(0.25)
    else:
        stop_process_group(process)
        raise RuntimeError(f"{name} did not answer within 60 s")
    # Wait until every worker is up (the first answer may come from the first one booted).
    for _ in range(40):
        if len(server.worker_pids()) >= workers:
            break
        time.sleep(0.25)
    return server


class MemorySampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.servers = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.5):
            for server in list(self.servers):
                if server.process.poll() is None:
                    server.sample_memory()


# --- wrk ---------------------------------------------------------------------------------------------
@dataclass
class Result:
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = None
    p99_ms: float = None
    non2xx: int = 0
    socket_errors: int = 0
    reused: int = 0
    statuses: dict = field(default_factory=dict)
    sample: str = ""
    connections: int = 0
    cpu: dict = field(default_factory=dict)  # ms of CPU per request: app, db, wrk; other_cores: foreign load

    @property
    def rps(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self):
        # A reused single-use value is an error whether the server refused it (then it is also one of the
        # non-2xx answers) or accepted it: max() counts each reuse once without counting it twice.
        return max(self.non2xx, self.reused) + self.socket_errors


@dataclass
class Spec:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str = ""

    def write(self, path):
        lines = [self.method, self.path] + [f"{k}: {v}" for k, v in self.headers.items()]
        Path(path).write_text("\n".join(lines) + "\n\n" + self.body)


class Load:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.counter = 0
        self.accounting = None  # set by Bench: snapshot() -> dict, and finish(before, result, seconds)

    def run(self, base_url, spec, *, duration=None, connections=None, pool=None, mode="cycle", background=False):
        self.counter += 1
        spec_path = self.tmp / f"spec{self.counter}.txt"
        spec.write(spec_path)
        connections = connections or self.args.connections
        threads = min(self.args.threads, connections)
        duration = duration or self.args.duration
        cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
               "-s", str(LUA), base_url, "--", str(spec_path)]
        if pool:
            cmd += [str(pool), mode]
        if background:
            return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
        before = self.accounting.snapshot() if self.accounting else None
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=duration + 60)
        elapsed = time.perf_counter() - started
        line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk gave no result ({done.returncode}): {done.stdout[-1500:]} {done.stderr[-1500:]}")
        data = json.loads(line[len("BENCH_JSON "):])
        e = data["errors"]
        result = Result(
            requests=data["requests"], seconds=data["duration_us"] / 1e6,
            p50_ms=data["latency_us"]["p50"] / 1000, p99_ms=data["latency_us"]["p99"] / 1000,
            non2xx=data["non2xx"], socket_errors=e["connect"] + e["read"] + e["write"] + e["timeout"],
            reused=data["reused"], statuses=data["statuses"], sample=data["sample"], connections=connections,
        )
        if before is not None:
            self.accounting.finish(before, result, elapsed)
        return result


class Accounting:
    """CPU used during one wrk run: by the server's processes, its PostgreSQL backends, wrk, and everything
    else on the machine (other people's work on a shared machine shows up there: see `other load`)."""

    def __init__(self, bench):
        self.bench = bench

    def _backends(self):
        dbs = [getattr(self.bench, a, None) for a in ("db_name", "dot_db_name", "scale_db_name")]
        dbs = [d for d in dbs if d]
        if not dbs:
            return {}
        rows = self.bench.pg._execute("SELECT pid, datname FROM pg_stat_activity WHERE datname IN ("
                                      + ",".join(f"'{d}'" for d in dbs) + ")")
        return {pid: proc_cpu_ticks(pid) for pid, _ in rows or []}

    def snapshot(self):
        server = self.bench.active_server
        app = [server.process.pid, *server.worker_pids()] if server else []
        upstream = getattr(self.bench, "upstream", None)
        return {"busy": machine_busy_ticks(), "app": sum(proc_cpu_ticks(p) for p in app), "db": self._backends(),
                "upstream": proc_cpu_ticks(upstream.pid) if upstream else 0, "children": children_cpu_seconds()}

    def finish(self, before, result, elapsed):
        after = self.snapshot()
        app = (after["app"] - before["app"]) / CLK_TCK
        db = sum(t - before["db"].get(pid, 0) for pid, t in after["db"].items()) / CLK_TCK
        upstream = (after["upstream"] - before["upstream"]) / CLK_TCK
        wrk = after["children"] - before["children"]
        busy = (after["busy"] - before["busy"]) / CLK_TCK
        n = max(result.requests, 1)
        result.cpu = {"app_ms": round(1000 * app / n, 3), "db_ms": round(1000 * db / n, 3),
                      "wrk_ms": round(1000 * wrk / n, 3), "upstream_ms": round(1000 * upstream / n, 3),
                      "busy_cores": round(busy / elapsed, 2),
                      "other_cores": round(max(0.0, busy - app - db - wrk - upstream) / elapsed, 2)}


def wait_for_quiet(max_wait, threshold=0.3):
    """Wait (at most max_wait s) until the machine is nearly idle for one second; return seconds waited."""
    started = time.perf_counter()
    while True:
        b0 = machine_busy_ticks()
        time.sleep(1)
        busy = (machine_busy_ticks() - b0) / CLK_TCK
        waited = time.perf_counter() - started
        if busy <= threshold or waited >= max_wait:
            return round(waited - 1, 1), round(busy, 2)


# --- the table ------------------------------------------------------------------------------------------
@dataclass
class Row:
    key: str
    name: str
    result: Result = None
    status: str = "ok"  # ok | not available yet | failed: ...
    target: str = ""
    met: bool = None
    note: str = ""
    ratio: float = None
    extra: dict = field(default_factory=dict)


class Report:
    def __init__(self):
        self.rows = []
        self.facts = {}
        self.ceiling_runs = []

    def add(self, row):
        self.rows.append(row)
        return row

    @property
    def ceiling_rps(self):
        runs = [r.rps for r in self.ceiling_runs if r.requests]
        return sum(runs) / len(runs) if runs else None


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


# --- the benchmark ------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args):
        self.args = args
        self.cleanup = Cleanup()
        self.report = Report()
        self.pg = Postgres.from_environment()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        self.cleanup.push("remove temporary files", lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.load = Load(args, self.tmp)
        self.load.accounting = Accounting(self)
        self.active_server = None
        self.quiet_limit = args.max_wait_quiet
        self.sampler = MemorySampler()
        self.sampler.start()
        self.cleanup.push("stop memory sampler", self.sampler.stopped.set)
        self.server = None
        self.seed = {}
        self.selected = set(args.cases)
        self.profile_dir = None
        self.scale_enabled = not args.quick and bool({4, 6} & self.selected)

    # -- environment ----------------------------------------------------------------------------------
    def server_env(self, db_url, issuer):
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
        env.update(
            DATABASE_URL=db_url, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), OAUTH_ISSUER=issuer,
            ALLOWED_HOSTS="127.0.0.1,localhost", DEMO_CLIENTS_FILE=str(self.tmp / "demo-clients.json"),
            # Loopback http, as in the end-to-end tests: production terminates TLS in front of gunicorn.
            OAUTHLIB_INSECURE_TRANSPORT="1", PYTHONWARNINGS="ignore",
        )
        if not self.args.keep_rate_limits:
            # The per-client and per-IP rate limits (600 token requests a minute per client by default) would
            # answer a load test with 429: raised far out of reach, so their bookkeeping still runs and costs.
            for endpoint in ("TOKEN", "REVOKE", "INTROSPECT"):
                for kind in ("CLIENT", "IP"):
                    env[f"RATE_LIMIT_{endpoint}_PER_{kind}"] = "1000000000/m"
        return env

    def machine(self):
        cpu = ""
        try:
            cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                       if l.startswith("model name"))
        except (OSError, StopIteration):
            pass
        mem_kb = proc_meminfo_kb()
        try:
            pg_version = self.pg._execute("SELECT current_setting('server_version')")[0][0]
        except Exception:
            pg_version = "?"
        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip()
        import django

        self.report.facts.update(
            date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), nproc=os.cpu_count(), cpu=cpu,
            memory_gib=round(mem_kb / 1024 / 1024, 1) if mem_kb else None, postgresql=pg_version,
            python=platform.python_version(), django=django.get_version(), wrk=wrk_version,
            workers=self.args.workers, connections=self.args.connections, threads=self.args.threads,
            duration=self.args.duration,
        )

    # -- set-up ----------------------------------------------------------------------------------------
    def setup_main(self):
        name = f"bench_{os.getpid()}"
        self.pg.create(name)
        self.cleanup.push(f"drop database {name}", lambda: self.pg.drop(name))
        self.db_name = name
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        self.env = self.server_env(self.pg.url(name), issuer)
        self.env_bench = dict(self.env, DJANGO_SETTINGS_MODULE="bench.settings")

        self.upstream = subprocess.Popen([PYTHON, str(BENCH / "upstream.py"), "--port-file", str(self.tmp / "up.port")],
                                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        self.cleanup.push("stop upstream", lambda: stop_process_group(self.upstream))
        for _ in range(100):
            if (self.tmp / "up.port").exists() and (self.tmp / "up.port").read_text():
                break
            time.sleep(0.05)
        self.upstream_url = f"http://127.0.0.1:{(self.tmp / 'up.port').read_text().strip()}"

        log(f"database {name}: migrate, seed_demo, bench seed")
        _, t = run_command([PYTHON, "manage.py", "migrate", "--noinput"], self.env, what="migrate")
        self.report.facts["migrate_seconds"] = round(t, 1)
        run_command([PYTHON, "manage.py", "seed_demo", "--force"], self.env, what="seed_demo")
        seed_path = self.tmp / "seed.json"
        run_command([PYTHON, str(BENCH / "seed.py"), "--out", str(seed_path), "--upstream", self.upstream_url,
                     "--keys-dir", str(self.tmp / "keys")], self.env_bench, what="bench/seed.py")
        self.seed = json.loads(seed_path.read_text())
        for key, why in self.seed.get("unavailable", {}).items():
            log(f"not available in this checkout: {key}: {why}")
        # The 1,000 tokens of the "1k" scale point: alice's live opaque tokens, read round-robin by 4, 5, 6, 8.
        out = self.seed_tokens(["--count", "1000", "--client-id", "bench-user", "--username", "alice",
                                "--tokens-out", str(self.tmp / "live"), "--files", str(self.args.threads)])
        self.live_pool = self.tmp / "live"
        log(f"seeded 1,000 live access tokens in {out['seconds']} s")
        if self.scale_enabled:
            self.prepare_scale()

        # With the port chosen up front, the issuer (assertion audiences) is right from the start.
        self.server = self.start_server("server", "bench.wsgi", self.env, port=port)
        self.base = self.server.url
        self.report.facts["ceiling_route"] = "bench.urls (appended to config.urls at run time)"

    def seed_tokens(self, extra):
        done, _ = run_command([PYTHON, str(BENCH / "seed_tokens.py"), *extra], self.env_bench, what="seed_tokens")
        return json.loads([l for l in done.stdout.splitlines() if l.startswith("{")][-1])

    def start_server(self, name, wsgi, env, port=None, health_path="/bench/ceiling"):
        log_path = self.tmp / f"{name}.log"
        # The main server's port is chosen up front: the issuer (and so assertion audiences) names it.
        server = start_gunicorn(name, wsgi, env, self.args.workers, log_path, health_path, port=port)
        self.cleanup.push(f"stop {name}", lambda: stop_process_group(server.process))
        self.sampler.servers.append(server)
        self.active_server = server
        log(f"{name}: gunicorn {wsgi} on {server.url}, {len(server.worker_pids())} sync workers "
            f"(pids {server.worker_pids()})")
        return server

    def stop_server(self, server):
        server.sample_memory("VmHWM")
        server.sample_memory("VmRSS")
        stop_process_group(server.process)

    # -- tokens through the real endpoints ----------------------------------------------------------------
    def client(self, key):
        return self.seed["clients"][key]

    def password_token(self, client_key, scope="userinfo/readonly photos"):
        c = self.client(client_key)
        status, body = http("POST", self.base + "/oauth/token",
                            headers={"Authorization": basic(c["client_id"], c["client_secret"])},
                            form={"grant_type": "password", "username": "alice", "password": ALICE_PASSWORD,
                                  "scope": scope})
        if status != 200:
            raise RuntimeError(f"password grant for {client_key} failed: {status} {body}")
        return body["access_token"]

    # -- running one case --------------------------------------------------------------------------------
    def quiet(self, max_wait=None):
        """Wait for other load to pass (see --max-wait-quiet); a machine that stays busy gets shorter waits."""
        limit = self.quiet_limit if max_wait is None else max_wait
        waited, busy = wait_for_quiet(limit)
        if max_wait is None:
            timed_out = busy > 0.3
            self.quiet_limit = max(2, limit // 2) if timed_out else self.args.max_wait_quiet
        if waited > 0.5:
            log(f"  waited {waited} s for the machine to be quiet (busy {busy} cores at the end)")

    def fixed_case(self, key, spec, *, base=None, pool=None, connections=None, duration=None, warmup=None):
        base = base or self.base
        self.quiet()
        if warmup is None:
            warmup = not self.args.quick  # --quick: no 1-second warm-up runs (first-request costs are small)
        if warmup:
            self.load.run(base, spec, duration=1, pool=pool, connections=connections)
            # Let the server finish what the warm-up left in flight (a PBKDF2 request costs ~0.3 s of CPU).
            self.quiet(max_wait=3)
        return self.load.run(base, spec, pool=pool, connections=connections, duration=duration)

    def pooled_case(self, spec, make_pool, probe_size, margin=3.0):
        """A case whose values are single-use: probe the rate with a small pool, then size the real pool."""
        probe_prefix = self.tmp / f"probe{self.load.counter + 1}"
        make_pool(probe_size, probe_prefix)
        probe_seconds = 2
        probe = self.load.run(self.base, spec, duration=probe_seconds, pool=probe_prefix, mode="consume")
        ok = probe.requests - probe.reused
        rate = (2 * probe_size / probe_seconds) if probe.reused else ok / max(probe.seconds, 0.1)
        # The probe ran under whatever else the machine was doing: a generous margin, as reuse is an error.
        size = int(math.ceil(rate * self.args.duration * margin)) + 200
        prefix = self.tmp / f"pool{self.load.counter + 1}"
        made = make_pool(size, prefix)
        self.quiet()
        result = self.load.run(self.base, spec, pool=prefix, mode="consume")
        return result, {"pool": size, "probe_rps": round(probe.rps, 1), "probe_errors": probe.errors,
                        "pool_seconds": made}

    # -- the cases -------------------------------------------------------------------------------------
    def case_ceiling(self, label="1"):
        result = self.fixed_case("1", Spec("GET", "/bench/ceiling"))
        self.report.ceiling_runs.append(result)
        return result

    def pair_with_ceiling(self, row, spec, pool=None):
        """Short runs of this case and of the ceiling, alternating (as the plain-DOT comparisons): each
        round's ratio compares two runs seconds apart, so load that drifts over minutes on a shared machine
        falls on both sides alike. The median of the rounds' ratios is the one the target is judged on."""
        rounds = 2 if self.args.quick else PAIRED_ROUNDS
        seconds = max(2, self.args.duration // 3)
        ceiling = Spec("GET", "/bench/ceiling")
        ratios = []
        for i in range(rounds):
            runs = {}
            sides = [("ceiling", ceiling, None), ("case", spec, pool)]
            for side, side_spec, side_pool in (sides if i % 2 == 0 else sides[::-1]):
                self.quiet(max_wait=3)
                runs[side] = self.load.run(self.base, side_spec, duration=seconds, pool=side_pool)
            ratios.append(runs["case"].rps / runs["ceiling"].rps if runs["ceiling"].rps else 0.0)
            if runs["case"].errors:
                row.extra["paired_errors"] = row.extra.get("paired_errors", 0) + runs["case"].errors
        row.extra["paired_ratio"] = round(statistics.median(ratios), 3)
        row.extra["paired_rounds"] = [round(r, 3) for r in ratios]

    def run_cases(self):
        a = self.args
        sel = self.selected
        rows = {}

        def row(key, name, **kw):
            r = self.report.add(Row(key, name, **kw))
            rows[key] = r
            return r

        log("case 1: ceiling")
        row("1", CASES[1], result=self.case_ceiling())
        alice_count = self.token_count()
        if 4 in sel:
            log("case 4: introspection")
            rs = self.client("rs")
            spec = Spec("POST", "/oauth/introspect",
                        {"Authorization": basic(rs["client_id"], rs["client_secret"]),
                         "Content-Type": "application/x-www-form-urlencoded"},
                        "token=%TOKEN%&token_type_hint=access_token")
            row("4", CASES[4], result=self.fixed_case("4", spec, pool=self.live_pool),
                note=f"{alice_count:,} tokens in DB; 1,000 tokens round-robin; Basic auth (may_introspect_any_token)")
            self.check_body_sample("4", spec)
            self.pair_with_ceiling(rows["4"], spec, self.live_pool)
            self.case_floor(row, "4", spec, self.live_pool)
        if 5 in sel:
            log("case 5: tokeninfo")
            spec = Spec("GET", "/oauth/tokeninfo?access_token=%TOKEN%")
            row("5", CASES[5], result=self.fixed_case("5", spec, pool=self.live_pool),
                note=f"GET; {alice_count:,} tokens in DB")
            self.pair_with_ceiling(rows["5"], spec, self.live_pool)
        if 6 in sel:
            log("case 6: userinfo (opaque)")
            spec = Spec("GET", "/api/userinfo", {"Authorization": "Bearer %TOKEN%"})
            row("6", CASES[6], result=self.fixed_case("6", spec, pool=self.live_pool),
                note=f"{alice_count:,} tokens in DB")
            self.pair_with_ceiling(rows["6"], spec, self.live_pool)
        if self.scale_enabled:
            # Before any case adds tokens: the 1k side of the comparison is exactly the 1,000 seeded ones.
            self.run_scale(rows)
        if 7 in sel:
            log("case 7: userinfo (JWT access token)")
            self.case_jwt_userinfo(row)
        if 8 in sel:
            log("case 8: gateway")
            self.case_gateway(row)
        if 3 in sel:
            log("case 3: refresh_token")
            c = self.client("user")
            spec = Spec("POST", "/oauth/token",
                        {"Authorization": basic(c["client_id"], c["client_secret"]),
                         "Content-Type": "application/x-www-form-urlencoded"},
                        "grant_type=refresh_token&refresh_token=%TOKEN%")

            def make_refresh_pool(n, prefix):
                out = self.seed_tokens(["--count", str(n), "--with-refresh", "--client-id", "bench-user",
                                        "--username", "alice", "--tokens-out", str(prefix),
                                        "--files", str(a.threads)])
                return out["seconds"]

            result, extra = self.pooled_case(spec, make_refresh_pool, probe_size=3000)
            row("3", CASES[3], result=result, extra=extra,
                note=f"fresh refresh token per request, pool {extra['pool']:,} (made in {extra['pool_seconds']} s); "
                     "rotation + reuse protection on")
            floor_spec = replace(spec, path=FLOOR_PATHS["3"])
            log(f"case 3 floor: {floor_spec.path}")
            result, extra = self.pooled_case(floor_spec, make_refresh_pool, probe_size=3000)
            row("3-floor", FLOORS["3"], result=result, extra=extra,
                note="bench-only view: the same statements, no oauthlib/DOT (bench/floors.py); "
                     f"pool {extra['pool']:,}; single-use values, so no paired rounds (as case 3)")
        if 2 in sel:
            log("case 2: client_credentials")
            c = self.client("cc")
            spec = Spec("POST", "/oauth/token",
                        {"Authorization": basic(c["client_id"], c["client_secret"]),
                         "Content-Type": "application/x-www-form-urlencoded"},
                        "grant_type=client_credentials&scope=photos")
            row("2", CASES[2], result=self.fixed_case("2", spec), note="client_secret_basic (HMAC-SHA-256 secret)")
            self.pair_with_ceiling(rows["2"], spec)
            self.case_floor(row, "2", spec)
        if 9 in sel:
            log("case 9: JWT-bearer grant")
            self.case_jwt_bearer(row)
        if 10 in sel:
            log("case 10: SAML-bearer grant")
            self.case_saml_bearer(row)
        log("case 1 again: ceiling at the end (the ratio uses the mean of both)")
        again = self.case_ceiling()
        rows["1"].extra["ceiling_runs_rps"] = [round(r.rps, 1) for r in self.report.ceiling_runs]
        rows["1"].note = "mean of start and end: " + " / ".join(f"{r.rps:,.0f}" for r in self.report.ceiling_runs)
        rows["1"].result = merge_results(rows["1"].result, again)
        return rows

    def case_floor(self, row, key, spec, pool=None):
        """The case's SQL with no OAuth framework around it (bench/floors.py): no target, a reference point.
        A target above the floor's ratio is out of reach of any implementation doing that database work."""
        spec = replace(spec, path=FLOOR_PATHS[key])
        log(f"case {key} floor: {spec.path}")
        if key == "4":
            self.check_body_sample(key, spec)
        r = row(f"{key}-floor", FLOORS[key], result=self.fixed_case(f"{key}-floor", spec, pool=pool),
                note="bench-only view: the same statements, no oauthlib/DOT (bench/floors.py)")
        self.pair_with_ceiling(r, spec, pool)

    def token_count(self):
        return self.pg.scalar(self.db_name, "SELECT count(*) FROM oauth2_provider_accesstoken")

    def check_body_sample(self, key, spec):
        """A 200 from introspection can still say active=false: check one response body by hand."""
        token = (self.live_pool.parent / f"{self.live_pool.name}.1").read_text().split()[0]
        rs = self.client("rs")
        status, body = http("POST", self.base + spec.path,
                            headers={"Authorization": basic(rs["client_id"], rs["client_secret"])},
                            form={"token": token, "token_type_hint": "access_token"})
        if status != 200 or not isinstance(body, dict) or body.get("active") is not True:
            raise RuntimeError(f"introspection ({spec.path}) of a seeded token is not active: {status} {body}")

    def case_jwt_userinfo(self, row):
        if "user-jwt" in self.seed.get("unavailable", {}):
            row("7", CASES[7], status="not available yet",
                note="JWT access tokens (access_token_format) not in this checkout: "
                     + self.seed["unavailable"]["user-jwt"][:120])
            return
        try:
            tokens = [self.password_token("user-jwt") for _ in range(4)]
        except RuntimeError as error:
            row("7", CASES[7], status="not available yet", note=str(error)[:200])
            return
        if not all(t.count(".") == 2 for t in tokens):
            row("7", CASES[7], status="not available yet", note="the token endpoint issued opaque tokens")
            return
        prefix = self.tmp / "jwt-access"
        for i in range(1, self.args.threads + 1):
            Path(f"{prefix}.{i}").write_text("\n".join(tokens) + "\n")
        spec = Spec("GET", "/api/userinfo", {"Authorization": "Bearer %TOKEN%"})
        r = row("7", CASES[7], result=self.fixed_case("7", spec, pool=prefix),
                note=f"4 RS256 JWTs (~{len(tokens[0])} bytes) issued by the token endpoint, round-robin")
        self.pair_with_ceiling(r, spec, prefix)

    def case_gateway(self, row):
        if not self.seed.get("route"):
            row("8", CASES[8], status="not available yet", note=self.seed["unavailable"].get("route", "")[:200])
            return
        prefix = self.seed["route"]["prefix"]
        gw = Spec("GET", f"/gateway/{prefix}/ping", {"Authorization": "Bearer %TOKEN%"})
        direct = Spec("GET", "/ping")
        gw_load = self.fixed_case("8", gw, pool=self.live_pool)
        direct_load = self.fixed_case("8u", direct, base=self.upstream_url)
        # Latency without queueing: one connection; gateway and direct alternate, and each round's added p50
        # compares two runs seconds apart (the median of the rounds is the figure).
        c1_seconds = max(2, self.args.duration // 3)
        gw_runs, direct_runs = [], []
        for i in range(2 if self.args.quick else PAIRED_ROUNDS):
            sides = [(gw, self.base, self.live_pool, gw_runs), (direct, self.upstream_url, None, direct_runs)]
            for spec, base, pool, runs in (sides if i % 2 == 0 else sides[::-1]):
                self.quiet(max_wait=3)
                runs.append(self.load.run(base, spec, pool=pool, connections=1, duration=c1_seconds))
        added_rounds = [g.p50_ms - d.p50_ms for g, d in zip(gw_runs, direct_runs)]
        added = statistics.median(added_rounds)
        gw_c1, direct_c1 = merge_all(gw_runs), merge_all(direct_runs)
        r = row("8", CASES[8], result=gw_load,
                note=f"added p50 at 1 connection: {added:.2f} ms, median of {len(added_rounds)} alternating rounds "
                     f"({', '.join(f'{x:.2f}' for x in added_rounds)}; median p50 gateway "
                     f"{statistics.median(g.p50_ms for g in gw_runs):.2f} vs "
                     f"{statistics.median(d.p50_ms for d in direct_runs):.2f} ms direct); "
                     f"target <= {TARGET_GATEWAY_ADDED_P50_MS} ms")
        r.extra.update(added_p50_ms=round(added, 3), added_p50_rounds=[round(x, 3) for x in added_rounds],
                       gateway_c1=result_dict(gw_c1), direct_c1=result_dict(direct_c1))
        r.target = f"added p50 <= {TARGET_GATEWAY_ADDED_P50_MS} ms"
        r.met = added <= TARGET_GATEWAY_ADDED_P50_MS and gw_load.errors == 0 and gw_c1.errors == 0
        row("8u", "upstream direct (asyncio, keep-alive)", result=direct_load,
            note=f"1 connection: p50 {direct_c1.p50_ms:.2f} ms; not a Django case (no ratio)")
        row("8g1", "gateway at 1 connection", result=gw_c1, note="for the added-latency figure")

    def grant_probe(self, body, headers=None):
        status, answer = http("POST", self.base + "/oauth/token", headers=headers or {},
                              form=dict(urllib.parse.parse_qsl(body)))
        return status, answer

    def case_jwt_bearer(self, row):
        if "jwt-bearer" in self.seed.get("unavailable", {}):
            row("9", CASES[9], status="not available yet", note=self.seed["unavailable"]["jwt-bearer"][:160])
            return
        key = self.seed["jwt_bearer_key"]
        audience = self.base + "/oauth/token"

        def make(n, prefix):
            done, t = run_command([PYTHON, str(BENCH / "make_assertions.py"), "jwt", "--count", str(n),
                                   "--out", str(prefix), "--files", str(self.args.threads),
                                   "--key", key["private_key_file"], "--kid", key["kid"],
                                   "--client-id", "bench-jwt-bearer", "--subject", "alice",
                                   "--audience", audience], self.env, what="make_assertions jwt")
            return round(t, 1)

        make(1, self.tmp / "jwt-probe1")
        one = Path(f"{self.tmp / 'jwt-probe1'}.1").read_text().split()[0]
        status, answer = self.grant_probe(f"grant_type={GRANT_JWT_BEARER}&scope=photos&assertion={one}")
        if status != 200:
            if isinstance(answer, dict) and answer.get("error") == "unsupported_grant_type":
                row("9", CASES[9], status="not available yet", note="token endpoint: unsupported_grant_type")
            else:
                row("9", CASES[9], status=f"failed: {status}", note=str(answer)[:200])
            return
        spec = Spec("POST", "/oauth/token", {"Content-Type": "application/x-www-form-urlencoded"},
                    f"grant_type={GRANT_JWT_BEARER}&scope=photos&assertion=%TOKEN%")
        result, extra = self.pooled_case(spec, make, probe_size=1500)
        row("9", CASES[9], result=result, extra=extra,
            note=f"RS256 assertion per request (iss=client, sub=alice, unique jti), no client auth; "
                 f"pool {extra['pool']:,} made in {extra['pool_seconds']} s")

    def case_saml_bearer(self, row):
        idp = self.seed.get("idp")
        if not idp or "saml" in self.seed.get("unavailable", {}):
            why = self.seed.get("unavailable", {}).get("saml") or self.seed.get("unavailable", {}).get("idp", "")
            row("10", CASES[10], status="not available yet", note=why[:160])
            return
        c = self.client("saml")
        auth = basic(c["client_id"], c["client_secret"])

        def make(n, prefix):
            cmd = [PYTHON, str(BENCH / "make_assertions.py"), "saml", "--count", str(n), "--out", str(prefix),
                   "--files", str(self.args.threads), "--idp-key", idp["key_file"], "--idp-cert", idp["cert_file"],
                   "--entity-id", idp["entity_id"], "--audience", idp["audience"], "--recipient", idp["recipient"],
                   "--subject", "alice"]
            if idp.get("xmlsec_binary"):
                cmd += ["--xmlsec", idp["xmlsec_binary"]]
            done, t = run_command(cmd, self.env, what="make_assertions saml")
            return round(t, 1)

        make(1, self.tmp / "saml-probe1")
        one = Path(f"{self.tmp / 'saml-probe1'}.1").read_text().split()[0]
        status, answer = self.grant_probe(f"grant_type={GRANT_SAML2_BEARER}&scope=photos&assertion={one}",
                                          headers={"Authorization": auth})
        if status != 200:
            if isinstance(answer, dict) and answer.get("error") == "unsupported_grant_type":
                row("10", CASES[10], status="not available yet", note="token endpoint: unsupported_grant_type")
            else:
                row("10", CASES[10], status=f"failed: {status}", note=str(answer)[:200])
            return
        spec = Spec("POST", "/oauth/token",
                    {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"},
                    f"grant_type={GRANT_SAML2_BEARER}&scope=photos&assertion=%TOKEN%")
        result, extra = self.pooled_case(spec, make, probe_size=150, margin=2.0)  # ~25 ms to sign each
        row("10", CASES[10], result=result, extra=extra,
            note=f"pysaml2-signed assertion per request (unique ID), client_secret_basic; "
                 f"pool {extra['pool']:,} made in {extra['pool_seconds']} s")

    # -- SQL per request -----------------------------------------------------------------------------------
    def count_queries(self):
        """Queries per request of each case that ran, counted in-process (bench/querycount.py)."""
        specs = {}
        rows = {r.key: r for r in self.report.rows}

        def with_value(spec, value):
            sub = lambda text: text.replace("%TOKEN%", value)  # noqa: E731
            return {"method": spec.method, "path": sub(spec.path), "body": sub(spec.body),
                    "headers": {k: sub(v) for k, v in spec.headers.items()}}

        def first_values(prefix, n=2):
            values = Path(f"{prefix}.1").read_text().split()
            return (values * n)[:n]

        for case in self.selected:
            if case in (9, 10) and not (rows.get(str(case)) and rows[str(case)].status == "ok"):
                continue
            if case == 7 and not Path(f"{self.tmp / 'jwt-access'}.1").exists():
                continue
            spec, pool, mode, make = self.profile_spec(case, pool_size=2)
            if spec is None:
                continue
            if make is not None:
                pool = self.tmp / f"qc{case}"
                make(pool)
                values = first_values(pool)
            elif pool is not None:
                values = first_values(pool)
            else:
                values = ["", ""]
            specs[str(case)] = {"attempts": [with_value(spec, v) for v in values]}
            if str(case) in FLOOR_PATHS:
                floor = replace(spec, path=FLOOR_PATHS[str(case)])
                if make is not None:  # single-use values: the floor gets its own
                    pool = self.tmp / f"qc{case}-floor"
                    make(pool)
                    values = first_values(pool)
                specs[f"{case}-floor"] = {"attempts": [with_value(floor, v) for v in values]}
        path = self.tmp / "querycount.json"
        path.write_text(json.dumps(specs))
        try:
            done, _ = run_command([PYTHON, str(BENCH / "querycount.py"), str(path), "--sql"], self.env_bench,
                                  what="querycount")
        except RuntimeError as error:
            log(f"query count failed: {str(error)[:500]}")
            return
        counts = json.loads([l for l in done.stdout.splitlines() if l.startswith("{")][-1])
        for key, count in counts.items():
            if key in rows:
                rows[key].extra["queries"] = count["queries"]
                rows[key].extra["queries_status"] = count["status"]
                rows[key].extra["sql"] = count.get("sql", [])

    # -- scale -----------------------------------------------------------------------------------------
    def prepare_scale(self):
        """Before any case adds tokens: copy the database (1,000 tokens) and add 1,000,000 to the copy."""
        big = f"{self.db_name}_1m"
        self.pg._execute(f'CREATE DATABASE "{big}" TEMPLATE "{self.db_name}"')
        self.cleanup.push(f"drop database {big}", lambda: self.pg.drop(big))
        self.scale_db_name = big
        self.env_big = dict(self.env, DATABASE_URL=self.pg.url(big))
        log(f"scale: copied the database to {big}; adding 1,000,000 expired access tokens with COPY")
        done, _ = run_command([PYTHON, str(BENCH / "seed_tokens.py"), "--count", "1000000", "--expired",
                               "--client-id", "bench-user", "--username", "alice"],
                              dict(self.env_big, DJANGO_SETTINGS_MODULE="bench.settings"), what="seed_tokens 1M")
        out = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
        self.report.facts["seed_1m_seconds"] = out["seconds"]
        log(f"scale: 1,000,000 tokens seeded in {out['seconds']} s")

    def run_scale(self, rows):
        """Cases 4 and 6 at 1,000 and at 1,000,000 more tokens, in paired rounds: the copy made by
        prepare_scale gets a second server, and runs alternate between the two servers."""
        big = self.scale_db_name
        small_count = self.token_count()
        count = self.pg.scalar(big, "SELECT count(*) FROM oauth2_provider_accesstoken")
        big_server = self.start_server("server-1m", "bench.wsgi", self.env_big)
        small_server = self.server
        rs = self.client("rs")
        specs = {
            "4": Spec("POST", "/oauth/introspect",
                      {"Authorization": basic(rs["client_id"], rs["client_secret"]),
                       "Content-Type": "application/x-www-form-urlencoded"},
                      "token=%TOKEN%&token_type_hint=access_token"),
            "6": Spec("GET", "/api/userinfo", {"Authorization": "Bearer %TOKEN%"}),
        }
        rounds = 3
        seconds = max(2, self.args.duration // 3)
        try:
            for key, spec in specs.items():
                if int(key) not in self.selected:
                    continue
                log(f"scale: case {key}, {rounds} rounds of {seconds} s alternating {small_count:,} / {count:,} tokens")
                small_runs, big_runs = [], []
                for i in range(rounds):
                    sides = [(small_server, small_runs), (big_server, big_runs)]
                    for server, runs in (sides if i % 2 == 0 else sides[::-1]):
                        self.active_server = server
                        if i == 0:
                            self.load.run(server.url, spec, duration=1, pool=self.live_pool)
                        self.quiet(max_wait=3 if i else None)
                        runs.append(self.load.run(server.url, spec, duration=seconds, pool=self.live_pool))
                small_r, big_r = merge_all(small_runs), merge_all(big_runs)
                slowdown = small_r.rps / big_r.rps if big_r.rps else float("inf")
                small_cpu, big_cpu = cpu_per_request(small_r), cpu_per_request(big_r)
                cpu_slowdown = big_cpu / small_cpu if small_cpu and big_cpu else None
                r = self.report.add(Row(f"{key}@1M", f"{CASES[int(key)]} @ {count / 1e6:.2f}M tokens", result=big_r))
                r.extra.update(slowdown_vs_1k=round(slowdown, 3), small_paired=result_dict(small_r),
                               cpu_slowdown=None if cpu_slowdown is None else round(cpu_slowdown, 3),
                               rounds=[[result_dict(a), result_dict(b)] for a, b in zip(small_runs, big_runs)])
                r.target = f"<= {TARGET_SCALE}x of 1k"
                r.met = (slowdown <= TARGET_SCALE and (cpu_slowdown is None or cpu_slowdown <= TARGET_SCALE)
                         and big_r.errors == 0)
                by_round = ", ".join(f"{a.rps / b.rps:.2f}" if b.rps else "inf" for a, b in zip(small_runs, big_runs))
                r.note = (f"paired with {small_count:,} tokens ({small_r.rps:,.0f} req/s): 1k/1M = {slowdown:.2f}x "
                          f"by req/s, {cpu_slowdown:.2f}x by CPU per request; rounds: {by_round}")
        finally:
            self.active_server = small_server
            self.stop_server(big_server)
            self.report.facts["worker_peak_rss_mb_1m_server"] = {
                str(p): round(kb / 1024, 1) for p, kb in big_server.peak_rss_kb.items()}

    def run_cleartokens(self):
        db = getattr(self, "scale_db_name", None) or self.db_name
        env = self.env_big if db != self.db_name else self.env
        count = lambda: self.pg.scalar(db, "SELECT count(*) FROM oauth2_provider_accesstoken")  # noqa: E731
        before = count()
        log(f"cleartokens: {before:,} access tokens before")
        _, seconds = run_command([PYTHON, "manage.py", "cleartokens"], env, what="cleartokens", timeout=1800)
        after = count()
        self.report.facts["cleartokens"] = {"seconds": round(seconds, 1), "removed": before - after,
                                            "before": before, "after": after}
        log(f"cleartokens: removed {before - after:,} in {seconds:.1f} s")

    # -- plain django-oauth-toolkit ------------------------------------------------------------------------
    def run_baseline(self, rows):
        """Plain DOT beside our server: each comparison alternates short runs of ours and DOT's (paired
        rounds), so that load from elsewhere on a shared machine falls on both sides alike."""
        name = f"bench_dot_{os.getpid()}"
        self.dot_db_name = name
        self.pg.create(name)
        self.cleanup.push(f"drop database {name}", lambda: self.pg.drop(name))
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
        env.update(DATABASE_URL=self.pg.url(name), SECRET_KEY=secrets.token_urlsafe(50),
                   DJANGO_SETTINGS_MODULE="bench.dot_baseline.settings", OAUTHLIB_INSECURE_TRANSPORT="1",
                   PYTHONWARNINGS="ignore")
        log(f"plain DOT: database {name}, migrate, seed")
        run_command([PYTHON, "-m", "django", "migrate", "--noinput"], env, what="DOT migrate")
        seed_path = self.tmp / "dot-seed.json"
        run_command([PYTHON, str(BENCH / "dot_baseline" / "seed.py"), "--out", str(seed_path),
                     "--tokens-out", str(self.tmp / "dot-live"), "--files", str(self.args.threads)], env,
                    what="DOT seed")
        seed = json.loads(seed_path.read_text())
        ours_server = self.server
        dot = self.start_server("dot-baseline", "bench.dot_baseline.wsgi", env, health_path="/o/token/")
        form = "application/x-www-form-urlencoded"
        comparisons = []
        if 2 in self.selected:
            c = self.client("cc")
            ours = (Spec("POST", "/oauth/token", {"Authorization": basic(c["client_id"], c["client_secret"]),
                                                  "Content-Type": form}, "grant_type=client_credentials&scope=photos"),
                    None)
            for key, label, target in (
                    ("D2-default", "plain DOT client_credentials, default (PBKDF2 secret)", 100),
                    ("D2-nohash", "plain DOT client_credentials, hash_client_secret=False", 3)):
                d = seed["clients"]["cc-" + key.split("-")[1]]
                theirs = (Spec("POST", "/o/token/", {"Authorization": basic(d["client_id"], d["client_secret"]),
                                                     "Content-Type": form}, "grant_type=client_credentials&scope=read"),
                          None)
                comparisons.append((key, label, target, "2", ours, theirs))
        if 4 in self.selected:
            rs = self.client("rs")
            ours = (Spec("POST", "/oauth/introspect", {"Authorization": basic(rs["client_id"], rs["client_secret"]),
                                                       "Content-Type": form},
                         "token=%TOKEN%&token_type_hint=access_token"), self.live_pool)
            d = seed["clients"]["rs"]
            comparisons.append(("D4-bearer", "plain DOT introspect, default (bearer token)", None, "4", ours,
                                (Spec("POST", "/o/introspect/", {"Authorization": f"Bearer {seed['rs_bearer_token']}",
                                                                 "Content-Type": form}, "token=%TOKEN%"),
                                 self.tmp / "dot-live")))
            comparisons.append(("D4-nohash", "plain DOT introspect, Basic, hash off", None, "4", ours,
                                (Spec("POST", "/o/introspect/", {"Authorization": basic(d["client_id"], d["client_secret"]),
                                                                 "Content-Type": form}, "token=%TOKEN%"),
                                 self.tmp / "dot-live")))
        rounds = 2 if self.args.quick else 3
        seconds = max(2, self.args.duration // 3)
        try:
            for key, label, target, case, ours, theirs in comparisons:
                log(f"plain DOT: {label}: {rounds} rounds of {seconds} s, alternating with ours (case {case})")
                ours_runs, dot_runs = [], []
                for i in range(rounds):
                    sides = [("ours", ours_server, ours, ours_runs), ("dot", dot, theirs, dot_runs)]
                    for _side, server, (spec, pool), runs in (sides if i % 2 == 0 else sides[::-1]):
                        self.active_server = server
                        if i == 0 and not self.args.quick:
                            self.load.run(server.url, spec, duration=1, pool=pool)
                        self.quiet(max_wait=(1 if self.args.quick else 3) if i else None)
                        runs.append(self.load.run(server.url, spec, duration=seconds, pool=pool))
                ours_r, dot_r = merge_all(ours_runs), merge_all(dot_runs)
                row = self.report.add(Row(key, label, result=dot_r))
                x = ours_r.rps / dot_r.rps if dot_r.rps else float("inf")
                by_round = ", ".join(f"{o.rps / t.rps:,.1f}" if t.rps else "inf" for o, t in zip(ours_runs, dot_runs))
                row.extra.update(ours_over_dot=round(x, 2), ours_paired=result_dict(ours_r),
                                 rounds=[[result_dict(o), result_dict(t)] for o, t in zip(ours_runs, dot_runs)])
                row.note = (f"ours (case {case}, paired: {ours_r.rps:,.0f} req/s) / this = {x:,.2f}x"
                            f"{cpu_ratio_text(dot_r, ours_r)}; rounds: {by_round}")
                if target:
                    row.note += f" (target >= {target}x)"
                    row.target = f"ours/this >= {target}x"
                    judge_baseline(row, x, target, ours_r)
                    if ours_r.errors:
                        row.met = False
        finally:
            self.active_server = ours_server
            self.stop_server(dot)
        self.report.facts["dot_baseline_rss_mb"] = {str(p): round(kb / 1024, 1) for p, kb in dot.peak_rss_kb.items()}

    # -- profiles ----------------------------------------------------------------------------------------
    def run_profiles(self, rows):
        if not PY_SPY.exists():
            log("installing py-spy into the virtualenv for --profile")
            subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.profile_dir = RESULTS / "profiles" / stamp
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        for case in self.args.profile:
            spec, pool, mode, make = self.profile_spec(case)
            if spec is None:
                log(f"profile {case}: case not runnable here, skipped")
                continue
            if make is not None:
                pool = self.tmp / f"profpool{case}"
                make(pool)
            seconds = self.args.profile_seconds
            out = self.profile_dir / f"case{case}.txt"
            log(f"profile {case}: py-spy on {self.server.worker_pids()} for {seconds} s under load")
            wrk = self.load.run(self.base, spec, pool=pool, mode=mode, duration=seconds + 3, background=True)
            try:
                time.sleep(1)
                subprocess.run([str(PY_SPY), "record", "--pid", str(self.server.process.pid), "--subprocesses",
                                "--nonblocking", "--rate", "250", "--format", "raw",
                                "--duration", str(seconds), "-o", str(out)],
                               capture_output=True, text=True, timeout=seconds + 60)
            finally:
                wrk.wait(seconds + 30)
            summary = subprocess.run([PYTHON, str(BENCH / "profile_summary.py"), str(out)],
                                     capture_output=True, text=True)
            (self.profile_dir / f"case{case}.summary.txt").write_text(summary.stdout + summary.stderr)
            log(f"profile {case}: {out} (+ .summary.txt)")

    def profile_spec(self, case, pool_size=None):
        form = "application/x-www-form-urlencoded"
        if case == 1:
            return Spec("GET", "/bench/ceiling"), None, "cycle", None
        if case == 2:
            c = self.client("cc")
            return Spec("POST", "/oauth/token", {"Authorization": basic(c["client_id"], c["client_secret"]),
                                                 "Content-Type": form},
                        "grant_type=client_credentials&scope=photos"), None, "cycle", None
        if case == 3:
            c = self.client("user")
            spec = Spec("POST", "/oauth/token", {"Authorization": basic(c["client_id"], c["client_secret"]),
                                                 "Content-Type": form}, "grant_type=refresh_token&refresh_token=%TOKEN%")
            return spec, None, "consume", lambda p: self.seed_tokens(
                ["--count", str(pool_size or 20000), "--with-refresh", "--client-id", "bench-user", "--username", "alice",
                 "--tokens-out", str(p), "--files", str(self.args.threads)])
        if case == 4:
            rs = self.client("rs")
            return Spec("POST", "/oauth/introspect", {"Authorization": basic(rs["client_id"], rs["client_secret"]),
                                                      "Content-Type": form},
                        "token=%TOKEN%&token_type_hint=access_token"), self.live_pool, "cycle", None
        if case == 5:
            return Spec("GET", "/oauth/tokeninfo?access_token=%TOKEN%"), self.live_pool, "cycle", None
        if case == 6:
            return Spec("GET", "/api/userinfo", {"Authorization": "Bearer %TOKEN%"}), self.live_pool, "cycle", None
        if case == 7 and Path(f"{self.tmp / 'jwt-access'}.1").exists():
            return Spec("GET", "/api/userinfo", {"Authorization": "Bearer %TOKEN%"}), self.tmp / "jwt-access", "cycle", None
        if case == 8 and self.seed.get("route"):
            return (Spec("GET", f"/gateway/{self.seed['route']['prefix']}/ping", {"Authorization": "Bearer %TOKEN%"}),
                    self.live_pool, "cycle", None)
        rows = {r.key: r for r in self.report.rows}
        if case in (9, 10) and rows.get(str(case)) and rows[str(case)].status == "ok":
            pool_rate = rows[str(case)].result.rps
            n = pool_size or int(pool_rate * (self.args.profile_seconds + 3) * 1.5) + 100
            if case == 9:
                key = self.seed["jwt_bearer_key"]
                spec = Spec("POST", "/oauth/token", {"Content-Type": form},
                            f"grant_type={GRANT_JWT_BEARER}&scope=photos&assertion=%TOKEN%")
                cmd = ["jwt", "--key", key["private_key_file"], "--kid", key["kid"], "--client-id", "bench-jwt-bearer",
                       "--subject", "alice", "--audience", self.base + "/oauth/token"]
                env = self.env
            else:
                idp = self.seed["idp"]
                c = self.client("saml")
                spec = Spec("POST", "/oauth/token", {"Authorization": basic(c["client_id"], c["client_secret"]),
                                                     "Content-Type": form},
                            f"grant_type={GRANT_SAML2_BEARER}&scope=photos&assertion=%TOKEN%")
                cmd = ["saml", "--idp-key", idp["key_file"], "--idp-cert", idp["cert_file"], "--entity-id",
                       idp["entity_id"], "--audience", idp["audience"], "--recipient", idp["recipient"],
                       "--subject", "alice"] + (["--xmlsec", idp["xmlsec_binary"]] if idp.get("xmlsec_binary") else [])
                env = self.env
            return spec, None, "consume", lambda p: run_command(
                [PYTHON, str(BENCH / "make_assertions.py"), *cmd, "--count", str(n), "--out", str(p),
                 "--files", str(self.args.threads)], env, what="make_assertions")
        return None, None, None, None

    # -- the whole run -------------------------------------------------------------------------------------
    def run(self):
        started = time.perf_counter()
        try:
            self.machine()
            log(f"machine: {self.report.facts['nproc']} cores, {self.report.facts['cpu']}, "
                f"{self.report.facts['memory_gib']} GiB, PostgreSQL {self.report.facts['postgresql']}")
            log(f"gunicorn workers: {self.args.workers} (sync); wrk: {self.args.threads} thread(s), "
                f"{self.args.connections} connections, {self.args.duration} s per case")
            self.setup_main()
            rows = self.run_cases()
            self.count_queries()
            if self.args.profile:
                self.run_profiles(rows)
            if not self.args.no_baseline and (2 in self.selected or 4 in self.selected):
                self.run_baseline(rows)
            self.stop_server(self.server)
            self.report.facts["worker_peak_rss_mb"] = {str(p): round(kb / 1024, 1)
                                                        for p, kb in self.server.peak_rss_kb.items()}
            if self.scale_enabled:
                self.run_cleartokens()
        finally:
            self.report.facts["total_seconds"] = round(time.perf_counter() - started, 1)
            self.cleanup.run()
        self.finish()

    def finish(self):
        ceiling = self.report.ceiling_rps
        ceiling_cpu = cpu_per_request(self.report.rows[0].result) if self.report.rows else None
        for r in self.report.rows:
            if r.result is None or not ceiling or r.key.startswith(("8u", "8g1", "D")):
                continue
            r.ratio = r.result.rps / ceiling
            own_cpu = cpu_per_request(r.result)
            if ceiling_cpu and own_cpu:
                r.extra["cpu_ratio"] = round(ceiling_cpu / own_cpu, 3)
            number = r.key.split("@")[0]
            if number.isdigit() and int(number) in TARGET_RATIO and "@" not in r.key:
                t = TARGET_RATIO[int(number)]
                r.target = f">= {t} of ceiling"
                judged = r.extra.get("paired_ratio", r.ratio)
                r.met = judged >= t and r.result.errors == 0 and not r.extra.get("paired_errors")
        rss = self.report.facts.get("worker_peak_rss_mb", {})
        if rss:
            self.report.facts["rss_target_met"] = max(rss.values()) <= TARGET_RSS_MB
        table = render_table(self.report)
        print()
        print(table)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "latest.md").write_text(table + "\n")
        (RESULTS / "latest.json").write_text(json.dumps(report_dict(self.report), indent=2))
        if self.args.update_readme:
            update_readme(table)
        if self.profile_dir:
            print(f"\nprofiles: {self.profile_dir.relative_to(ROOT)}")


def cpu_per_request(result):
    """CPU ms one request costs the machine: server processes + PostgreSQL backends + wrk (+ upstream)."""
    if result is None or not result.cpu:
        return None
    c = result.cpu
    return c["app_ms"] + c["db_ms"] + c["wrk_ms"] + c.get("upstream_ms", 0)


def judge_baseline(row, rps_ratio, target, ours):
    """The two servers run minutes apart, so other load can favour either: met only if req/s and CPU agree."""
    theirs_cpu, ours_cpu = cpu_per_request(row.result), cpu_per_request(ours)
    cpu_ratio = theirs_cpu / ours_cpu if theirs_cpu and ours_cpu else None
    row.extra["ours_over_dot_by_cpu"] = None if cpu_ratio is None else round(cpu_ratio, 2)
    row.met = rps_ratio >= target and (cpu_ratio is None or cpu_ratio >= target)


def cpu_ratio_text(theirs, ours):
    a, b = cpu_per_request(theirs), cpu_per_request(ours)
    return f" (by CPU per request: {a / b:,.2f}x)" if a and b else ""


def merge_results(a, b):
    """Two runs of the same case as one: summed requests and time, latencies averaged."""
    return Result(requests=a.requests + b.requests, seconds=a.seconds + b.seconds,
                  p50_ms=(a.p50_ms + b.p50_ms) / 2, p99_ms=max(a.p99_ms, b.p99_ms), non2xx=a.non2xx + b.non2xx,
                  socket_errors=a.socket_errors + b.socket_errors, reused=a.reused + b.reused,
                  statuses={k: a.statuses.get(k, 0) + b.statuses.get(k, 0) for k in {*a.statuses, *b.statuses}},
                  sample=a.sample or b.sample, connections=a.connections,
                  cpu={k: round((a.cpu.get(k, 0) + b.cpu.get(k, 0)) / 2, 3) for k in a.cpu} if a.cpu and b.cpu else a.cpu)


def merge_all(results):
    merged = results[0]
    for r in results[1:]:
        merged = merge_results(merged, r)
    return merged


def result_dict(r):
    return None if r is None else {
        "requests": r.requests, "seconds": round(r.seconds, 2), "rps": round(r.rps, 1), "p50_ms": round(r.p50_ms, 3),
        "p99_ms": round(r.p99_ms, 3), "errors": r.errors, "non2xx": r.non2xx, "socket_errors": r.socket_errors,
        "reused": r.reused, "statuses": r.statuses, "sample": r.sample, "connections": r.connections, "cpu": r.cpu,
    }


def report_dict(report):
    return {"facts": report.facts, "ceiling_rps": report.ceiling_rps,
            "rows": [{"key": r.key, "name": r.name, "status": r.status, "result": result_dict(r.result),
                      "ratio": None if r.ratio is None else round(r.ratio, 3), "target": r.target, "met": r.met,
                      "note": r.note, "extra": r.extra} for r in report.rows]}


def render_table(report):
    f = report.facts
    lines = [
        f"Machine: {f.get('nproc')} cores ({f.get('cpu')}), {f.get('memory_gib')} GiB RAM, PostgreSQL "
        f"{f.get('postgresql')}, Python {f.get('python')}, Django {f.get('django')}, {f.get('wrk')}",
        f"Run: {f.get('date')}; gunicorn sync workers: {f.get('workers')}; wrk {f.get('threads')} thread, "
        f"{f.get('connections')} connections, {f.get('duration')} s per case; ceiling route: {f.get('ceiling_route')}",
        "",
        "| case | what | req/s | p50 ms | p99 ms | errors | ratio to ceiling | target | met "
        "| ratio by CPU | SQL/req | CPU ms/req app + db | other load | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|",
    ]
    order = {"1": 0, "2": 1, "2-floor": 1.05, "D2-default": 1.1, "D2-nohash": 1.2, "3": 2, "3-floor": 2.05, "4": 3,
             "4-floor": 3.05,
             "D4-bearer": 3.1, "D4-nohash": 3.2,
             "4@1M": 3.3, "5": 4, "6": 5, "6@1M": 5.1, "7": 6, "8": 7, "8g1": 7.1, "8u": 7.2, "9": 8, "10": 9}
    for r in sorted(report.rows, key=lambda r: order.get(r.key, 99)):
        if r.result is None:
            lines.append(f"| {r.key} | {r.name} | - | - | - | - | - | {r.target} | - | - | - | - | - | **{r.status}** {r.note} |")
            continue
        x = r.result
        err = f"{x.errors}" + (f" ({x.reused} reused)" if x.reused else "")
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        status = "" if r.status == "ok" else f"**{r.status}** "
        if x.errors and x.sample:
            status += f"first error: `{x.sample[:80]}` "
        cpu = f"{x.cpu['app_ms']:.2f} + {x.cpu['db_ms']:.2f}" if x.cpu else "-"
        other = f"{x.cpu['other_cores']:.2f}" if x.cpu else "-"
        lines.append(f"| {r.key} | {r.name} | {x.rps:,.0f} | {x.p50_ms:.2f} | {x.p99_ms:.2f} | {err} | "
                     f"{ratio_cell(r)} | {r.target} | {met} "
                     f"| {r.extra['cpu_ratio'] if 'cpu_ratio' in r.extra else '-'} | {r.extra.get('queries', '-')} "
                     f"| {cpu} | {other} "
                     f"| {status}{r.note} |")
    lines.append("")
    rss = f.get("worker_peak_rss_mb", {})
    if rss:
        lines.append(f"Peak RSS per worker (VmHWM), main server: {', '.join(f'{v:.1f} MB' for v in rss.values())} "
                     f"(target <= {TARGET_RSS_MB} MB: {'yes' if f.get('rss_target_met') else 'no'}); plain DOT: "
                     f"{', '.join(f'{v:.1f} MB' for v in f.get('dot_baseline_rss_mb', {}).values()) or '-'}")
    ct = f.get("cleartokens")
    if ct:
        lines.append(f"cleartokens: removed {ct['removed']:,} expired access tokens of {ct['before']:,} in "
                     f"{ct['seconds']} s; 1,000,000 tokens seeded with COPY in {f.get('seed_1m_seconds')} s")
    lines.append(f"Total run time: {f.get('total_seconds')} s")
    return "\n".join(lines)


def ratio_cell(row):
    """The case's own run over the mean ceiling; then, where measured, the median of the paired rounds."""
    if row.ratio is None:
        return "-"
    paired = row.extra.get("paired_ratio")
    if paired is None:
        return f"{row.ratio:.3f}"
    rounds = ", ".join(f"{x:.2f}" for x in row.extra.get("paired_rounds", []))
    return f"{row.ratio:.3f}; paired **{paired:.3f}** ({rounds})"


def rerender(path, update):
    """Render the table again from a results JSON (e.g. after the rules of the table changed)."""
    data = json.loads(Path(path).read_text())
    report = Report()
    report.facts = data["facts"]
    for r in data["rows"]:
        res = None
        if r["result"]:
            x = r["result"]
            res = Result(requests=x["requests"], seconds=x["seconds"], p50_ms=x["p50_ms"], p99_ms=x["p99_ms"],
                         non2xx=x["non2xx"], socket_errors=x["socket_errors"], reused=x["reused"],
                         statuses=x["statuses"], sample=x["sample"], connections=x["connections"], cpu=x.get("cpu", {}))
        row = Row(r["key"], r["name"], result=res, status=r["status"], target=r["target"], met=r["met"],
                  note=r["note"], ratio=r["ratio"], extra=r["extra"])
        report.rows.append(row)
    rows = {r.key: r for r in report.rows}
    for key, target in (("D2-default", 100), ("D2-nohash", 3)):
        if key in rows and "ours_paired" not in rows[key].extra and "2" in rows and rows[key].result and rows["2"].result and rows[key].result.rps:
            judge_baseline(rows[key], rows["2"].result.rps / rows[key].result.rps, target, rows["2"].result)
    table = render_table(report)
    print(table)
    if update:
        update_readme(table)


def update_readme(table):
    readme = BENCH / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:latest:start -->", "<!-- bench:latest:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        readme.write_text(f"{before}{start}\n{table}\n{end}{after}")


def proc_meminfo_kb():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        return None


def parse_cases(value):
    if value in ("all", ""):
        return sorted(CASES)
    cases = sorted({int(v) for v in re.split(r"[,\s]+", value) if v})
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown case(s) {unknown}; cases are {sorted(CASES)}")
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description="The benchmark of issue 7 (see bench/README.md).")
    parser.add_argument("--quick", action="store_true",
                        help="skip the 1,000,000-token part and cleartokens; 5-second cases unless --duration")
    parser.add_argument("--cases", type=parse_cases, default=sorted(CASES), help="e.g. 1,2,4 (1 always runs)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per case (default 10, --quick 5)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "0")) or None,
                        help="gunicorn sync workers (default: one per core, see README)")
    parser.add_argument("--connections", type=int, default=None, help="wrk connections (default 2 x workers)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the server needs the cores)")
    parser.add_argument("--profile", type=parse_cases, default=[], help="cases to profile with py-spy, e.g. 2,4,6,10")
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--max-wait-quiet", type=int, default=None,
                        help="before each case, wait up to this many seconds for other load to end (default 10, "
                             "--quick 2; halved after each wait that ends with the machine still busy)")
    parser.add_argument("--keep-rate-limits", action="store_true",
                        help="keep the project's rate limits (by default raised out of reach, see README)")
    parser.add_argument("--no-baseline", action="store_true", help="skip plain django-oauth-toolkit")
    parser.add_argument("--update-readme", action="store_true", help="write the table into bench/README.md")
    parser.add_argument("--rerender", metavar="RESULTS_JSON", help="only print the table of an earlier run")
    args = parser.parse_args(argv)
    if args.rerender:
        rerender(args.rerender, args.update_readme)
        return
    if args.duration is None:
        args.duration = 5 if args.quick else 10
    if args.max_wait_quiet is None:
        args.max_wait_quiet = 2 if args.quick else 10
    if args.workers is None:
        args.workers = os.cpu_count() or 1
    if args.connections is None:
        args.connections = 2 * args.workers
    args.cases = sorted(set(args.cases) | {1})
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make bench does it when root)")
    Bench(args).run()


if __name__ == "__main__":
    main()
