"""Bulk seeding of access (and refresh) tokens for the benchmark: COPY on PostgreSQL, bulk_create in batches.

    python bench/seed_tokens.py --count 1000000 --expired          # 1M expired access tokens (COPY)
    python bench/seed_tokens.py --count 1000 --tokens-out live.txt  # 1k live tokens, their values written out
    python bench/seed_tokens.py --count 20000 --with-refresh --client-id C --tokens-out pool --files 2

Runs with the project's settings (DJANGO_SETTINGS_MODULE, default config.settings, and DATABASE_URL), like
manage.py. Tokens are stored the way the server stores them (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE): an empty
`token` column and the SHA-256 of the value in `token_checksum`, which is unique.

Access tokens alone go in with one COPY (PostgreSQL; other databases fall back to bulk_create). With
--with-refresh every access token gets a refresh token of its own family (bulk_create, which returns the
access tokens' ids); the raw refresh token values are written to --tokens-out, split round-robin into
--files files (`<out>.1`, `<out>.2`, ...) so that each load-generator thread has a pool of its own.
Prints one JSON line: {"rows": ..., "seconds": ..., ...}.
"""

import argparse
import io
import json
import os
import secrets
import sys
import time
import uuid
from datetime import timedelta
from hashlib import sha256
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True, help="how many access tokens")
    parser.add_argument("--expired", action="store_true", help="tokens that expired a day ago (for cleartokens)")
    parser.add_argument("--lifetime", type=int, default=86400, help="seconds a live token stays valid (default 1 day)")
    parser.add_argument("--client-id", default=None, help="the client the tokens belong to (default: the first client)")
    parser.add_argument("--username", default="alice", help="resource owner ('' for tokens without a user)")
    parser.add_argument("--scope", default="photos userinfo/readonly")
    parser.add_argument("--tokens-out", default=None,
                        help="write the raw token values here (refresh tokens with --with-refresh)")
    parser.add_argument("--files", type=int, default=None,
                        help="split --tokens-out into this many files <out>.1 .. <out>.N (default: one file <out>)")
    parser.add_argument("--with-refresh", action="store_true", help="give each access token a refresh token")
    parser.add_argument("--batch", type=int, default=50_000, help="rows per COPY chunk / bulk_create batch")
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE after a COPY")
    return parser.parse_args(argv)


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def new_token():
    # Same alphabet family and about the same length as oauthlib's 30-character tokens.
    return secrets.token_urlsafe(23)


def main(argv=None):
    args = parse_args(argv)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_application_model

    Client = get_application_model()
    client = (Client.objects.get(client_id=args.client_id) if args.client_id
              else Client.objects.order_by("pk").first())
    if client is None:
        raise SystemExit("no client to attach the tokens to: seed clients first")
    user = get_user_model().objects.get(username=args.username) if args.username else None
    now = timezone.now()
    if args.expired:
        created, expires = now - timedelta(days=2), now - timedelta(days=1)
    else:
        created, expires = now, now + timedelta(seconds=args.lifetime)

    started = time.perf_counter()
    writers = _open_outputs(args.tokens_out, args.files)
    try:
        if args.with_refresh:
            rows = _bulk_create_pairs(args, client, user, writers)
            method = "bulk_create"
        elif connection.vendor == "postgresql":
            rows = _copy_access_tokens(args, client, user, created, expires, writers)
            method = "COPY"
        else:
            rows = _bulk_create_access_tokens(args, client, user, created, expires, writers)
            method = "bulk_create"
    finally:
        for w in writers:
            w.close()
    loaded = time.perf_counter() - started
    if connection.vendor == "postgresql" and not args.no_analyze and not args.with_refresh:
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{get_access_token_model()._meta.db_table}"')
    total = get_access_token_model().objects.count()
    print(json.dumps({"rows": rows, "method": method, "seconds": round(time.perf_counter() - started, 2),
                      "load_seconds": round(loaded, 2), "rows_per_second": int(rows / loaded) if loaded else None,
                      "access_tokens_in_table": total, "expired": args.expired}))


def _open_outputs(path, files):
    if not path:
        return []
    if files is None:
        return [open(path, "w")]
    return [open(f"{path}.{i}", "w") for i in range(1, files + 1)]


def _copy_access_tokens(args, client, user, created, expires, writers):
    """One COPY ... FROM STDIN in text format, sent in chunks of --batch rows, in one transaction."""
    from django.db import connection, transaction
    from oauth2_provider.models import get_access_token_model

    model = get_access_token_model()
    table = model._meta.db_table
    col = {f.name: f.column for f in model._meta.concrete_fields}
    columns = [col["token"], col["token_checksum"], col["expires"], col["scope"], col["application"],
               col["user"], col["created"], col["updated"], col["resource"]]
    fixed_tail = "\t".join([
        expires.isoformat(), args.scope, str(client.pk), str(user.pk) if user else r"\N",
        created.isoformat(), created.isoformat(), "[]",
    ])
    sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
    rows = 0
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            while rows < args.count:
                n = min(args.batch, args.count - rows)
                buf = io.StringIO()
                for i in range(n):
                    raw = new_token()
                    if writers:
                        writers[(rows + i) % len(writers)].write(raw + "\n")
                    buf.write("\t")  # token column: empty (only the checksum is stored)
                    buf.write(sha256(raw.encode()).hexdigest())
                    buf.write("\t")
                    buf.write(fixed_tail)
                    buf.write("\n")
                copy.write(buf.getvalue())
                rows += n
    return rows


def _bulk_create_access_tokens(args, client, user, created, expires, writers):
    from django.db import transaction
    from oauth2_provider.models import get_access_token_model, set_token_value

    AccessToken = get_access_token_model()
    rows = 0
    with transaction.atomic():
        while rows < args.count:
            batch = []
            for i in range(min(args.batch, args.count - rows)):
                raw = new_token()
                if writers:
                    writers[(rows + i) % len(writers)].write(raw + "\n")
                at = AccessToken(user=user, application=client, expires=expires, scope=args.scope)
                set_token_value(at, raw)
                batch.append(at)
            AccessToken.objects.bulk_create(batch)
            rows += len(batch)
    if args.expired:  # auto_now_add set `created` to now
        AccessToken.objects.filter(expires=expires).update(created=created)
    return rows


def _bulk_create_pairs(args, client, user, writers):
    """Access token + refresh token pairs as the token endpoint makes them, each refresh token its own family."""
    from django.db import transaction
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model, set_token_value

    if user is None:
        raise SystemExit("refresh tokens need a resource owner (--username)")
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    batch_size = min(args.batch, 5000)
    expires = timezone.now() + timedelta(seconds=args.lifetime)
    rows = 0
    with transaction.atomic():
        while rows < args.count:
            n = min(batch_size, args.count - rows)
            access = []
            for _ in range(n):
                at = AccessToken(user=user, application=client, expires=expires, scope=args.scope)
                set_token_value(at, new_token())
                access.append(at)
            AccessToken.objects.bulk_create(access)
            refresh = []
            for i, at in enumerate(access):
                raw = new_token()
                if writers:
                    writers[(rows + i) % len(writers)].write(raw + "\n")
                rt = RefreshToken(user=user, application=client, access_token=at, token_family=uuid.uuid4())
                set_token_value(rt, raw)
                refresh.append(rt)
            RefreshToken.objects.bulk_create(refresh)
            rows += n
    return rows


if __name__ == "__main__":
    main()
