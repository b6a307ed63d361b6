"""Pools of single-use assertions for the benchmark's grant cases, one value per line, split per wrk thread.

    python bench/make_assertions.py jwt  --count N --out PREFIX --files K --key KEY.pem --kid KID \
        --client-id ID --subject alice --audience https://.../oauth/token
    python bench/make_assertions.py saml --count N --out PREFIX --files K --idp-key K --idp-cert C \
        --entity-id E --audience A --recipient R --subject alice [--xmlsec /usr/bin/xmlsec1]

jwt:  RS256 JWTs (RFC 7523 §3) with iss = client_id, sub, aud, iat = now, exp = now + 10 min and a unique jti.
saml: Assertions signed by samples/saml_idp.py's TestIdP (pysaml2 + xmlsec1), each with a unique ID,
      base64url-encoded without padding as the saml2-bearer grant's `assertion` parameter.
Both are made in parallel processes (one per core) and are valid for minutes: make them just before use.
Prints one JSON line: {"count": ..., "seconds": ...}.
"""

import argparse
import base64
import json
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _jwt_chunk(args, count, seed):
    import jwt
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
    now = int(time.time())
    out = []
    for i in range(count):
        claims = {"iss": args.client_id, "sub": args.subject, "aud": args.audience, "iat": now,
                  "exp": now + 600, "jti": f"bench-{seed}-{i}-{uuid.uuid4().hex}"}
        out.append(jwt.encode(claims, key, algorithm="RS256", headers={"kid": args.kid}))
    return out


def _saml_chunk(args, count, seed):
    from samples.saml_idp import TestIdP

    idp = TestIdP(args.entity_id, args.idp_key, args.idp_cert, audience=args.audience, recipient=args.recipient,
                  xmlsec_binary=args.xmlsec)
    out = []
    for i in range(count):
        xml = idp.assertion(name_id=args.subject, assertion_id=f"_bench{seed}x{i}x{uuid.uuid4().hex}")
        out.append(base64.urlsafe_b64encode(xml).rstrip(b"=").decode("ascii"))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["jwt", "saml"])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True, help="prefix: writes PREFIX.1 .. PREFIX.K")
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--subject", default="alice")
    parser.add_argument("--audience", required=True)
    parser.add_argument("--key")
    parser.add_argument("--kid")
    parser.add_argument("--client-id")
    parser.add_argument("--idp-key")
    parser.add_argument("--idp-cert")
    parser.add_argument("--entity-id")
    parser.add_argument("--recipient")
    parser.add_argument("--xmlsec", default=None)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    worker = _jwt_chunk if args.kind == "jwt" else _saml_chunk
    processes = max(1, min(args.processes, args.count // 50 or 1))
    sizes = [args.count // processes + (1 if i < args.count % processes else 0) for i in range(processes)]
    seed = uuid.uuid4().hex[:8]
    values = []
    if processes == 1:
        values = worker(args, sizes[0], f"{seed}0")
    else:
        with ProcessPoolExecutor(processes) as pool:
            for chunk in pool.map(worker, [args] * processes, sizes, [f"{seed}{i}" for i in range(processes)]):
                values.extend(chunk)
    files = [open(f"{args.out}.{i}", "w") for i in range(1, args.files + 1)]
    try:
        for i, value in enumerate(values):
            files[i % len(files)].write(value + "\n")
    finally:
        for f in files:
            f.close()
    print(json.dumps({"kind": args.kind, "count": len(values), "seconds": round(time.perf_counter() - started, 2)}))


if __name__ == "__main__":
    main()
