"""SQL queries per request for each benchmark case, counted in-process with Django's test client.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=... python bench/querycount.py SPECS.json [--sql]

SPECS.json: {"case": {"method": ..., "path": ..., "headers": {...}, "body": "..."}, ...} with real values
(the harness fills in a token or assertion of its own, so single-use values are not taken from a pool).
Each request is sent twice; the second is counted (the first warms per-process caches, as a running
worker's would be). Prints one JSON line {"case": {"status": ..., "queries": n, "sql": [...]}}.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("specs")
    parser.add_argument("--sql", action="store_true", help="include the SQL text of every query")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    specs = json.loads(Path(args.specs).read_text())
    client = Client(HTTP_HOST="127.0.0.1")
    out = {}
    for case, spec in specs.items():
        counted = None
        for attempt in spec.get("attempts", [spec]):
            headers = {k: v for k, v in attempt.get("headers", {}).items() if k.lower() != "content-type"}
            content_type = attempt.get("headers", {}).get("Content-Type", "application/octet-stream")
            with CaptureQueriesContext(connection) as queries:
                if attempt["method"] == "GET":
                    response = client.get(attempt["path"], headers=headers)
                else:
                    response = client.generic(attempt["method"], attempt["path"], attempt.get("body", ""),
                                              content_type=content_type, headers=headers)
                if hasattr(response, "streaming_content"):
                    b"".join(response.streaming_content)
            counted = {"status": response.status_code, "queries": len(queries.captured_queries)}
            if args.sql:
                counted["sql"] = [q["sql"][:300] for q in queries.captured_queries]
        out[case] = counted
    print(json.dumps(out))


if __name__ == "__main__":
    main()
