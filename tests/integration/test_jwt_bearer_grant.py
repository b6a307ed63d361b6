"""The JWT-bearer authorization grant (RFC 7523 §2.1) through HTTP: one refused request per §3 rule."""

import threading
import time

import pytest
import requests
from authlib.integrations.requests_client import AssertionSession
from django.db import connection
from joserfc.jwk import RSAKey

from oauth_server.constants import ClientAuthMethod
from oauth_server.constants import GrantType as G
from tests.unit.test_jwt_support import (
    JWT_BEARER,
    certificate_pem,
    claims,
    hs256_with_public_key,
    jwks,
    private_key,
    private_pem,
    public_jwk,
    sign,
    unsigned,
)

pytestmark = pytest.mark.django_db(transaction=True)

RSA, EC, ED25519 = private_key("rsa"), private_key("ec"), private_key("ed25519")
INTRUDER = private_key("rsa", 1)


@pytest.fixture
def partner_service(make_client):
    """A server-to-server client registered with its RSA public key; it has no secret at all."""
    return make_client("Partner Service", grants=(G.JWT_BEARER,), scopes=("photos", "userinfo/readonly"),
                       default_scopes=("photos",), auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                       jwks=jwks(public_jwk(RSA, kid="partner-1")))


def assertion(server, client, key=RSA, kid="partner-1", alg=None, **overrides):
    values = {"iss": client.client_id, "sub": client.client_id, "aud": server.token, **overrides}
    return sign(claims(**values), key, alg=alg, kid=kid)


def exchange(server, jwt_assertion, auth=None, **extra):
    return requests.post(server.token, data={"grant_type": JWT_BEARER, "assertion": jwt_assertion, **extra},
                         auth=auth)


def refused(response, error="invalid_grant"):
    assert response.status_code == (401 if error == "invalid_client" else 400), response.text
    body = response.json()
    assert body["error"] == error, body
    return body.get("error_description", "")


# --- tokens from assertions ----------------------------------------------------------------------------
def test_client_gets_a_token_without_a_user_from_a_signed_jwt(server, partner_service):
    r = exchange(server, assertion(server, partner_service))
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["token_type"] == "Bearer" and token["scope"] == "photos" and "refresh_token" not in token
    info = requests.get(server.tokeninfo, params={"access_token": token["access_token"]}).json()
    assert info["client_id"] == partner_service.client_id and "user_id" not in info


def test_client_gets_a_token_for_a_user_named_in_sub(server, partner_service, alice):
    r = exchange(server, assertion(server, partner_service, sub="alice"), scope="userinfo/readonly")
    assert r.status_code == 200, r.text
    info = requests.get(server.tokeninfo, params={"access_token": r.json()["access_token"]}).json()
    assert info["username"] == "alice" and info["user_id"] == str(alice.pk) and info["scope"] == "userinfo/readonly"


def test_authlib_assertion_session_gets_a_token(server, partner_service, alice):
    session = AssertionSession(token_endpoint=server.token, issuer=partner_service.client_id, subject="alice",
                               audience=server.token, key=RSAKey.import_key(private_pem(RSA)),
                               header={"alg": "RS256", "kid": "partner-1"}, scope="photos")
    token = session.refresh_token()  # Authlib's name for "get a token with a new assertion"
    assert token["scope"] == "photos" and token["access_token"]


def test_issuer_url_is_an_accepted_audience(server, partner_service):
    assert exchange(server, assertion(server, partner_service, aud=server.url)).status_code == 200


@pytest.mark.parametrize("kind", ["ec", "ed25519"])
def test_ec_and_ed25519_keys_work(server, make_client, kind):
    key = private_key(kind)
    client = make_client(f"{kind} partner", grants=(G.JWT_BEARER,), auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                         jwks=jwks(public_jwk(key, kid="k")))
    assert exchange(server, assertion(server, client, key=key, kid="k")).status_code == 200


def test_a_registered_certificate_verifies_the_assertion(server, make_client):
    client = make_client("Cert partner", grants=(G.JWT_BEARER,), auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                         certificate=certificate_pem(RSA))
    assert exchange(server, assertion(server, client, kid=None)).status_code == 200


def test_a_client_that_authenticates_must_be_the_issuer(server, make_client, partner_service):
    # A confidential client with a secret and keys may also authenticate itself on the request.
    both = make_client("Secret and key", grants=(G.JWT_BEARER,), jwks=jwks(public_jwk(EC, kid="ec-1")))
    r = exchange(server, assertion(server, both, key=EC, kid="ec-1"), auth=(both.client_id, both.secret))
    assert r.status_code == 200, r.text
    # ... but not present another client's assertion as its own.
    r = exchange(server, assertion(server, partner_service), auth=(both.client_id, both.secret))
    assert "signature" in refused(r)
    r = exchange(server, assertion(server, partner_service, key=EC, kid="ec-1", iss=partner_service.client_id),
                 auth=(both.client_id, both.secret))
    refused(r)


def test_wrong_client_secret_with_an_assertion_is_invalid_client(server, make_client):
    both = make_client("Secret and key", grants=(G.JWT_BEARER,), jwks=jwks(public_jwk(EC, kid="ec-1")))
    r = exchange(server, assertion(server, both, key=EC, kid="ec-1"), auth=(both.client_id, "wrong"))
    refused(r, "invalid_client")


# --- one refusal per rule ----------------------------------------------------------------------------------
def test_rejects_bad_signature(server, partner_service):
    token = assertion(server, partner_service)
    head, body, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    description = refused(exchange(server, f"{head}.{body}.{flipped}"))
    assert description == "signature does not verify with a key registered for the issuer (iss)"


def test_rejects_key_of_another_client(server, partner_service):
    assert "signature" in refused(exchange(server, assertion(server, partner_service, key=INTRUDER)))


def test_rejects_alg_none(server, partner_service):
    token = unsigned(claims(iss=partner_service.client_id, sub=partner_service.client_id, aud=server.token))
    assert "'none' is not accepted" in refused(exchange(server, token))


def test_rejects_hs256_signed_with_the_public_key_as_secret(server, partner_service):
    forged = hs256_with_public_key(
        claims(iss=partner_service.client_id, sub=partner_service.client_id, aud=server.token), RSA, kid="partner-1")
    assert "'HS256' is not accepted" in refused(exchange(server, forged))


def test_rejects_rs256_header_with_an_ec_key(server, make_client):
    client = make_client("EC partner", grants=(G.JWT_BEARER,), auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                         jwks=jwks(public_jwk(EC, kid="ec-1")))
    description = refused(exchange(server, assertion(server, client, key=RSA, alg="RS256", kid="ec-1")))
    assert description == "algorithm RS256 does not fit the type of key 'ec-1' (EC secp256r1)"


def test_rejects_es256_header_with_an_rsa_key(server, partner_service):
    description = refused(exchange(server, assertion(server, partner_service, key=EC, alg="ES256")))
    assert description == "algorithm ES256 does not fit the type of key 'partner-1' (RSA)"


def test_rejects_an_issuer_that_is_not_a_client(server, partner_service):
    assert "issuer (iss)" in refused(exchange(server, assertion(server, partner_service, iss="nobody")))


def test_rejects_issuer_other_than_the_authenticated_client(server, make_client, partner_service):
    # The authenticated client's own key signed it, but iss names someone else.
    both = make_client("Secret and key", grants=(G.JWT_BEARER,), jwks=jwks(public_jwk(EC, kid="ec-1")))
    token = assertion(server, both, key=EC, kid="ec-1", iss=partner_service.client_id)
    r = exchange(server, token, auth=(both.client_id, both.secret))
    assert refused(r) == "issuer (iss) is not the client's client_id"


def test_rejects_unknown_user(server, partner_service):
    assert refused(exchange(server, assertion(server, partner_service, sub="mallory"))) == \
        "subject (sub) is not an active user"


@pytest.mark.parametrize("sub", ["ali\x00ce", "\x00"])
def test_a_subject_with_a_nul_character_is_an_unknown_user_not_a_crash(server, partner_service, sub):
    # PostgreSQL refuses NUL in text: the lookup must not even ask it.
    assert refused(exchange(server, assertion(server, partner_service, sub=sub))) == \
        "subject (sub) is not an active user"


def test_rejects_inactive_user(server, partner_service, bob):
    bob.is_active = False
    bob.save()
    assert refused(exchange(server, assertion(server, partner_service, sub="bob"))) == \
        "subject (sub) is not an active user"


@pytest.mark.parametrize("overrides, description", [
    ({"aud": "https://elsewhere.example/token"}, "audience (aud) does not include the token endpoint or the issuer"),
    ({"aud": None}, "audience (aud) is missing"),
    ({"exp": None}, "expiration time (exp) is missing"),
    ({"exp": int(time.time()) - 600}, "assertion expired (exp)"),
    ({"exp": int(time.time()) + 7 * 86400}, "expiration time (exp) is more than 3600 seconds ahead"),
    ({"nbf": int(time.time()) + 600}, "assertion not yet valid (nbf)"),
    ({"iat": int(time.time()) - 3600}, "assertion too old: issued (iat) more than 300 seconds ago"),
    ({"iat": None}, "issued-at time (iat) is missing"),
    ({"jti": None}, "JWT ID (jti) is missing"),
    ({"sub": None}, "subject (sub) is missing"),
])
def test_rejects_each_broken_claim(server, partner_service, overrides, description):
    assert refused(exchange(server, assertion(server, partner_service, **overrides))) == description


def test_rejects_replayed_jti(server, partner_service):
    token = assertion(server, partner_service)
    assert exchange(server, token).status_code == 200
    assert refused(exchange(server, token)) == "JWT ID (jti) already used: the assertion was replayed"
    # A new assertion with the same jti is a replay too.
    again = assertion(server, partner_service, jti=__import__("jwt").decode(token, options={"verify_signature": False})["jti"])
    assert "already used" in refused(exchange(server, again))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers and the "
                    "live server shares one in-memory database, so it proves nothing about concurrency")
def test_replay_under_concurrency_exactly_one_request_succeeds(server, partner_service):
    token = assertion(server, partner_service)
    barrier = threading.Barrier(10)
    statuses = []

    def post():
        barrier.wait()
        statuses.append(exchange(server, token).status_code)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [400] * 9


def test_rejects_oversized_assertion_before_parsing(server, partner_service, settings):
    settings.JWT_ASSERTION_MAX_BYTES = 2048
    token = assertion(server, partner_service, padding="x" * 3000)
    assert refused(exchange(server, token)) == "assertion larger than 2048 bytes"


def test_client_not_allowed_the_grant_is_unauthorized_client(server, make_client):
    client = make_client("Keys but no grant", grants=(G.CLIENT_CREDENTIALS,),
                         auth_method=ClientAuthMethod.PRIVATE_KEY_JWT, jwks=jwks(public_jwk(RSA, kid="partner-1")))
    r = exchange(server, assertion(server, client))
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_disabled_client_is_refused(server, partner_service):
    partner_service.model.enabled = False
    partner_service.model.save()
    assert "issuer (iss)" in refused(exchange(server, assertion(server, partner_service)))


def test_missing_assertion_is_invalid_request(server, partner_service):
    r = requests.post(server.token, data={"grant_type": JWT_BEARER})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_scope_outside_the_allowed_ones_is_invalid_scope(server, partner_service):
    r = exchange(server, assertion(server, partner_service), scope="photos/write")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_no_refresh_token_unless_the_client_is_allowed_refresh_token(server, make_client, alice):
    plain = make_client("Plain", grants=(G.JWT_BEARER,), auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                        jwks=jwks(public_jwk(RSA, kid="partner-1")))
    refreshing = make_client("Refreshing", grants=(G.JWT_BEARER, G.REFRESH_TOKEN),
                             auth_method=ClientAuthMethod.PRIVATE_KEY_JWT, jwks=jwks(public_jwk(RSA, kid="partner-1")))
    assert "refresh_token" not in exchange(server, assertion(server, plain, sub="alice")).json()
    user_token = exchange(server, assertion(server, refreshing, sub="alice")).json()
    assert user_token["refresh_token"]
    # A token without a user never gets one (it has no resource owner to refresh for).
    assert "refresh_token" not in exchange(server, assertion(server, refreshing)).json()


def test_failure_description_names_the_rule_and_never_echoes_the_assertion(server, partner_service):
    token = assertion(server, partner_service, exp=int(time.time()) - 600)
    r = exchange(server, token)
    assert refused(r) == "assertion expired (exp)"
    for part in token.split("."):
        assert part not in r.text


def test_metadata_lists_the_grant(server):
    meta = requests.get(server.url + "/.well-known/oauth-authorization-server").json()
    assert JWT_BEARER in meta["grant_types_supported"]
