"""The benchmark's clients, identity provider and gateway route, made through the project's own functions.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=... python bench/seed.py --out seed.json \
        --upstream http://127.0.0.1:PORT --keys-dir DIR

Run after `manage.py migrate` and `manage.py seed_demo --force` (which makes the scopes and the users
alice and bob). Prints nothing but errors; writes the clients' ids and secrets, and what could not be made
because a feature is not in this checkout yet, to --out (JSON). Keys it generates (the JWT-bearer client's
RSA key, the test IdP's key and certificate) go to --keys-dir and are for this run only.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ALL_SCOPES = ["photos", "photos/write", "userinfo/readonly"]
ROUTE_PREFIX = "bench-upstream"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--upstream", required=True, help="base URL of the trivial upstream")
    parser.add_argument("--keys-dir", required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from oauth_server.constants import GrantType as G
    from oauth_server.registration import client_register

    keys_dir = Path(args.keys_dir)
    keys_dir.mkdir(parents=True, exist_ok=True)
    out = {"clients": {}, "unavailable": {}}

    def register(key, **kwargs):
        try:
            client, secret = client_register(name=f"bench {key}", client_id=f"bench-{key}", **kwargs)
        except Exception as error:  # a feature another engineer is still adding: report, don't fail
            out["unavailable"][key] = f"{type(error).__name__}: {error}"[:300]
            return None
        out["clients"][key] = {"client_id": client.client_id, "client_secret": secret}
        return client

    # 2: client_credentials with client_secret_basic.
    register("cc", grant_types=[G.CLIENT_CREDENTIALS], scopes=["photos"])
    # 3 and 6: a confidential client for alice's tokens (password grant to get them; refresh pool).
    register("user", grant_types=[G.PASSWORD, G.REFRESH_TOKEN], scopes=ALL_SCOPES)
    # 4: a resource server that may introspect any token.
    register("rs", grant_types=[G.CLIENT_CREDENTIALS], scopes=["photos"], may_introspect_any_token=True)
    # 7: JWT access tokens (RFC 9068).
    register("user-jwt", grant_types=[G.PASSWORD, G.REFRESH_TOKEN], scopes=ALL_SCOPES, access_token_format="jwt")
    # 9: the JWT-bearer grant; the client's public key is registered as a JWKS.
    jwt_key = _jwt_bearer_key(keys_dir)
    if hasattr(G, "JWT_BEARER"):
        register("jwt-bearer", grant_types=[G.JWT_BEARER], scopes=ALL_SCOPES, jwks={"keys": [jwt_key["public_jwk"]]})
    else:
        out["unavailable"]["jwt-bearer"] = "GrantType.JWT_BEARER does not exist"
    out["jwt_bearer_key"] = {"private_key_file": jwt_key["private_key_file"], "kid": jwt_key["kid"]}
    # 10: the SAML-bearer grant, with a trusted IdP whose key the harness signs assertions with.
    if hasattr(G, "SAML2_BEARER"):
        register("saml", grant_types=[G.SAML2_BEARER], scopes=ALL_SCOPES)
    else:
        out["unavailable"]["saml"] = "GrantType.SAML2_BEARER does not exist"
    out["idp"] = _trusted_idp(keys_dir, out)
    # 8: a gateway route to the trivial upstream.
    out["route"] = _route(args.upstream, out)

    Path(args.out).write_text(json.dumps(out, indent=2))


def _jwt_bearer_key(keys_dir):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = keys_dir / "jwt-bearer-client-test-only.key"
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": "bench-1", "use": "sig", "alg": "RS256"})
    return {"private_key_file": str(path), "kid": "bench-1", "public_jwk": jwk}


def _trusted_idp(keys_dir, out):
    try:
        from saml_bridge import registry
        from samples.saml_idp import ACME_ENTITY_ID, TestIdP, generate_test_keypair

        key_file, cert_file = generate_test_keypair(str(keys_dir), "bench-idp")
        idp = TestIdP(ACME_ENTITY_ID, key_file, cert_file)
        registry.identity_provider_import(metadata_xml=idp.metadata_xml())
        return {"entity_id": ACME_ENTITY_ID, "key_file": key_file, "cert_file": cert_file,
                "audience": registry.sp_entity_id(), "recipient": registry.token_endpoint_url(),
                "xmlsec_binary": registry.xmlsec_binary()}
    except Exception as error:
        out["unavailable"]["idp"] = f"{type(error).__name__}: {error}"[:300]
        return None


def _route(upstream, out):
    try:
        from resources.models import route_save

        route_save(prefix=ROUTE_PREFIX, upstream_url=upstream, required_scopes={"GET": ["userinfo/readonly"]},
                   name="bench upstream", timeout=10)
        return {"prefix": ROUTE_PREFIX}
    except Exception as error:
        out["unavailable"]["route"] = f"{type(error).__name__}: {error}"[:300]
        return None


if __name__ == "__main__":
    main()
