"""Clients and tokens for the plain-DOT comparison, made the way DOT's admin or a user's script would.

    DJANGO_SETTINGS_MODULE=bench.dot_baseline.settings DATABASE_URL=... \
        python bench/dot_baseline/seed.py --out seed.json --tokens-out tokens --tokens 1000 --files 1

- cc-default: a confidential client_credentials application with DOT's default secret hashing (PBKDF2);
- cc-nohash:  the same with hash_client_secret=False (the reference "hashing off");
- rs:         the resource server's bearer token with the "introspection" scope (DOT's documented way to
              call its introspection endpoint), and an unhashed-secret client for Basic authentication;
- --tokens live access tokens of alice to introspect, written to --tokens-out.<n>.
"""

import argparse
import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--tokens-out", required=True)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--files", type=int, default=1)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.dot_baseline.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_application_model

    Application, AccessToken = get_application_model(), get_access_token_model()
    alice = get_user_model().objects.create_user("alice", password=secrets.token_urlsafe(16))
    out = {"clients": {}}
    for key, hashed in (("cc-default", True), ("cc-nohash", False), ("rs", False)):
        secret = secrets.token_urlsafe(32)
        app = Application(name=key, client_type=Application.CLIENT_CONFIDENTIAL,
                          authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                          client_secret=secret, hash_client_secret=hashed)
        app.save()  # DOT hashes the secret on save when hash_client_secret is on
        out["clients"][key] = {"client_id": app.client_id, "client_secret": secret, "hashed": hashed,
                               "stored_secret_prefix": app.client_secret.split("$", 1)[0] if hashed else "plain"}
    rs = Application.objects.get(name="rs")
    expires = timezone.now() + timedelta(days=1)
    rs_token = secrets.token_urlsafe(23)
    AccessToken.objects.create(token=rs_token, application=rs, expires=expires, scope="introspection")
    out["rs_bearer_token"] = rs_token

    target = Application.objects.get(name="cc-default")
    files = [open(f"{args.tokens_out}.{i}", "w") for i in range(1, args.files + 1)]
    batch = []
    for i in range(args.tokens):
        raw = secrets.token_urlsafe(23)
        files[i % len(files)].write(raw + "\n")
        batch.append(AccessToken(token=raw, user=alice, application=target, expires=expires, scope="read write"))
    AccessToken.objects.bulk_create(batch)
    for f in files:
        f.close()
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
