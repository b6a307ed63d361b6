"""Where the time goes, from a py-spy raw (collapsed-stack) profile of the gunicorn workers.

    python bench/profile_summary.py bench/results/profiles/<stamp>/case4.txt [--top 30]

py-spy was run with --subprocesses and without --idle: a sample is taken of a worker thread that is
running or runnable. The master process is left out. Samples whose innermost frame is psycopg sending
a query or waiting for its answer are counted apart ("PostgreSQL round trip": on a busy 2-core machine a
worker also waits there for a CPU once the answer has come); the rest is the Python work of a request,
and the lists are percentages of it:
  - view vs. everything around it (gunicorn, middleware);
  - self time per layer (the package of the innermost frame);
  - the top functions by inclusive time (the time in them and below), framework wrappers left out;
  - the top functions by self time.
"""

import argparse
import re
import sys
from collections import Counter

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# Layers by innermost file, first match wins.
LAYERS = [
    ("psycopg (driver, other)", ("psycopg/",)),
    ("Django ORM: SQL compilation", ("django/db/models/sql/",)),
    ("Django ORM: models/querysets/fields", ("django/db/models/",)),
    ("Django DB backend", ("django/db/backends/", "django/db/utils.py", "django/db/transaction.py")),
    ("Django templates/forms", ("django/template/", "django/forms/")),
    ("Django URL resolving", ("django/urls/",)),
    ("Django middleware/contrib", ("django/middleware/", "django/contrib/")),
    ("Django request/response/handlers", ("django/http/", "django/core/handlers/", "django/core/")),
    ("Django utils/other", ("django/",)),
    ("DRF", ("rest_framework/",)),
    ("oauthlib", ("oauthlib/",)),
    ("django-oauth-toolkit", ("oauth2_provider/",)),
    ("PyJWT / cryptography", ("jwt/", "cryptography/")),
    ("pysaml2 / xmlschema / XML", ("saml2/", "xmlschema/", "defusedxml/", "xml/", "elementpath/")),
    ("subprocess (xmlsec1)", ("subprocess.py", "selectors.py", "tempfile.py")),
    ("httpx/httpcore (gateway)", ("httpx/", "httpcore/", "h11/")),
    ("gunicorn", ("gunicorn/",)),
    ("project: oauth_server", ("oauth_server/",)),
    ("project: resources", ("resources/",)),
    ("project: saml_bridge", ("saml_bridge/",)),
    ("project: config/accounts", ("config/", "accounts/")),
    ("logging", ("logging/",)),
    ("json", ("json/",)),
    ("hashlib/hmac/secrets/random", ("hashlib", "hmac.py", "secrets.py", "random.py")),
    ("Python stdlib (other)", ("stdlib:",)),
]
IDLE_MARKERS = ("wait (gunicorn/workers/sync.py", "accept (gunicorn/workers/sync.py", "select (selectors.py")


def short(path):
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if re.search(r"lib/python3\.\d+/", path):
        return "stdlib:" + re.split(r"lib/python3\.\d+/", path, 1)[1]
    if "/work/main/" in path:
        return path.split("/work/main/", 1)[1]
    return path


def parse(path):
    samples = []  # (frames root->leaf, count)
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            try:
                n = int(count)
            except ValueError:
                continue
            frames = stack.split(";")
            samples.append((frames, n))
    return samples


def is_master(frames):
    head = frames[0] if frames else ""
    return "gunicorn: master" in head or "arbiter.py" in ";".join(frames[:6]) and "sync.py" not in ";".join(frames)


def frame_key(frame):
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip(), ""
    return m.group("func"), short(m.group("file"))


def layer_of(file):
    for name, needles in LAYERS:
        if any(n in file for n in needles):
            return name
    return "other"


DB_WAIT_LEAVES = {("Connection.wait", "psycopg/connection.py"), ("ClientCursorMixin._execute_send", "psycopg/client_cursor.py"),
                  ("BaseConnection._exec_command", "psycopg/_connection_base.py"), ("wait", "psycopg/waiting.py"),
                  ("wait_epoll", "psycopg/waiting.py"), ("wait_c", "psycopg_c")}
# Frames that only wrap everything below them: left out of the "top functions" list.
WRAPPERS = ("gunicorn/", "django/core/handlers/", "django/utils/deprecation.py", "django/utils/decorators.py",
            "django/views/decorators/", "django/views/generic/base.py", "<module>", "threading.py")


def summarise(path, top=30, out=sys.stdout):
    samples = parse(path)
    worker_samples = [(fr, n) for fr, n in samples if not is_master(fr)]
    total = sum(n for _, n in worker_samples)
    if not total:
        print("no worker samples", file=out)
        return
    serving, db_wait = [], 0
    idle = 0
    for frames, n in worker_samples:
        keys = [frame_key(f) for f in frames]
        keys = [k for k in keys if not k[0].startswith(("process ", "Thread ")) and k[1]]
        names = {k[0] for k in keys}
        if "SyncWorker.handle_request" not in names and "SyncWorker.handle" not in names:
            idle += n
            continue
        if keys and keys[-1] in DB_WAIT_LEAVES:
            db_wait += n
            continue
        serving.append((keys, n))
    cpu = sum(n for _, n in serving)
    print(f"{path}: {total} samples of the workers (py-spy, active threads only)", file=out)
    print(f"  {100 * idle / total:5.1f}%  between requests (accept)", file=out)
    print(f"  {100 * db_wait / total:5.1f}%  in a PostgreSQL round trip (psycopg send/wait: the query runs, or the "
          "worker waits for a CPU after it)", file=out)
    print(f"  {100 * cpu / total:5.1f}%  running Python for the request: 100% in the lists below", file=out)
    if not cpu:
        return
    layers, inclusive, self_time = Counter(), Counter(), Counter()
    view = 0
    for keys, n in serving:
        leaf = keys[-1]
        layers[layer_of(leaf[1])] += n
        self_time[leaf] += n
        for k in set(keys):
            inclusive[k] += n
        if any(k[0] == "BaseHandler._get_response" for k in keys):
            view += n
    print(f"\nURL resolving + view: {100 * view / cpu:.1f}%; gunicorn (accept, parse, write) and middleware: "
          f"{100 * (cpu - view) / cpu:.1f}%", file=out)
    print("\nself time by layer:", file=out)
    for name, n in layers.most_common():
        print(f"  {100 * n / cpu:5.1f}%  {name}", file=out)
    print(f"\ntop {top} functions by inclusive time (wrappers left out):", file=out)
    shown = 0
    for (func, file), n in inclusive.most_common():
        if any(w in file or w in func for w in WRAPPERS) or func.endswith("Middleware.__call__"):
            continue
        print(f"  {100 * n / cpu:5.1f}%  {func}  ({file})", file=out)
        shown += 1
        if shown >= top:
            break
    print(f"\ntop {min(top, 20)} functions by self time:", file=out)
    for (func, file), n in self_time.most_common(min(top, 20)):
        print(f"  {100 * n / cpu:5.1f}%  {func}  ({file})", file=out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("profiles", nargs="+")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    for path in args.profiles:
        summarise(path, args.top)
        print()


if __name__ == "__main__":
    main()
