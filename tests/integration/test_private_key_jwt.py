"""private_key_jwt client authentication (RFC 7523 §2.2, RFC 7521 §4.2) at the token, revocation and
introspection endpoints."""

import time

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

from oauth_server.constants import ClientAuthMethod
from oauth_server.constants import GrantType as G
from tests.unit.test_jwt_support import (
    CLIENT_ASSERTION_TYPE,
    claims,
    jwks,
    private_key,
    private_pem,
    public_jwk,
    sign,
    unsigned,
)

pytestmark = pytest.mark.django_db(transaction=True)

EC = private_key("ec")
CC = {"grant_type": "client_credentials"}


@pytest.fixture
def key_client(make_client):
    """A machine client that authenticates with an EC P-256 key and has no secret."""
    return make_client("Key Client", grants=(G.CLIENT_CREDENTIALS,), scopes=("photos",), may_introspect_any_token=True,
                       auth_method=ClientAuthMethod.PRIVATE_KEY_JWT, jwks=jwks(public_jwk(EC, kid="kc-1")))


def client_assertion(server, client, key=EC, kid="kc-1", aud=None, **overrides):
    values = {"iss": client.client_id, "sub": client.client_id, "aud": aud or server.token, **overrides}
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": sign(claims(**values), key, kid=kid)}


def post(url, data, **kwargs):
    return requests.post(url, data=data, **kwargs)


def token_for(server, client):
    r = post(server.token, {**CC, **client_assertion(server, client)})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_client_authenticates_at_the_token_endpoint_with_a_signed_jwt(server, key_client):
    assert key_client.secret is None
    r = post(server.token, {**CC, **client_assertion(server, key_client)})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "photos"


def test_authlib_private_key_jwt_client(server, key_client):
    session = OAuth2Session(key_client.client_id, ECKey.import_key(private_pem(EC)),
                            token_endpoint_auth_method=PrivateKeyJWT(server.token, headers={"kid": "kc-1"}, alg="ES256"))
    token = session.fetch_token(server.token, grant_type="client_credentials")
    assert token["access_token"] and token["scope"] == "photos"


def test_private_key_jwt_at_revocation_and_introspection(server, key_client):
    token = token_for(server, key_client)
    r = post(server.introspect, {"token": token, **client_assertion(server, key_client)})
    assert r.status_code == 200 and r.json()["active"] is True and r.json()["client_id"] == key_client.client_id
    # The issuer URL is an accepted audience too.
    r = post(server.revoke, {"token": token, **client_assertion(server, key_client, aud=server.url)})
    assert r.status_code == 200, r.text
    r = post(server.introspect, {"token": token, **client_assertion(server, key_client)})
    assert r.json() == {"active": False}


def test_basic_and_client_assertion_together_are_invalid_request(server, key_client, backup_service):
    r = post(server.token, {**CC, **client_assertion(server, key_client)},
             auth=(backup_service.client_id, backup_service.secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_private_key_jwt_client_cannot_use_a_secret(server, key_client):
    r = post(server.token, CC, auth=(key_client.client_id, ""))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = post(server.token, {**CC, "client_id": key_client.client_id, "client_secret": "anything"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_secret_client_cannot_use_private_key_jwt(server, make_client):
    # Registered for client_secret_basic, with keys (for the JWT grant): its keys do not authenticate it.
    both = make_client("Secret client", grants=(G.CLIENT_CREDENTIALS, G.JWT_BEARER), scopes=("photos",),
                       jwks=jwks(public_jwk(EC, kid="kc-1")))
    r = post(server.token, {**CC, **client_assertion(server, both)})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_unknown_client_and_wrong_key_get_the_same_answer(server, key_client):
    wrong_key = post(server.token, {**CC, **client_assertion(server, key_client, key=private_key("ec", 1))})
    unknown = post(server.token, {**CC, **client_assertion(server, key_client, iss="nobody", sub="nobody")})
    assert wrong_key.status_code == unknown.status_code == 401
    assert wrong_key.json() == unknown.json()
    assert wrong_key.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]


def test_replayed_client_assertion_is_refused(server, key_client):
    data = {**CC, **client_assertion(server, key_client)}
    assert post(server.token, data).status_code == 200
    r = post(server.token, data)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert "jti" in r.json()["error_description"]


@pytest.mark.parametrize("overrides, rule", [
    ({"sub": "someone-else"}, "subject (sub) of a client assertion must be the client_id"),
    ({"exp": int(time.time()) - 600}, "assertion expired (exp)"),
    ({"aud": "https://elsewhere.example/token"}, "audience (aud) does not include the token endpoint or the issuer"),
    ({"jti": None}, "JWT ID (jti) is missing"),
])
def test_broken_client_assertion_is_invalid_client_naming_the_rule(server, key_client, overrides, rule):
    r = post(server.token, {**CC, **client_assertion(server, key_client, **overrides)})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.json()["error_description"] == f"client_assertion refused: {rule}"


def test_alg_none_client_assertion_is_refused(server, key_client):
    token = unsigned(claims(iss=key_client.client_id, sub=key_client.client_id, aud=server.token))
    r = post(server.token, {**CC, "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": token})
    assert r.status_code == 401 and "'none' is not accepted" in r.json()["error_description"]


def test_wrong_assertion_type_is_invalid_client(server, key_client):
    data = {**CC, **client_assertion(server, key_client), "client_assertion_type": "urn:example:saml"}
    r = post(server.token, data)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_client_id_beside_the_assertion_must_match(server, key_client, backup_service):
    r = post(server.token, {**CC, **client_assertion(server, key_client), "client_id": backup_service.client_id})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = post(server.token, {**CC, **client_assertion(server, key_client), "client_id": key_client.client_id})
    assert r.status_code == 200


def test_metadata_advertises_private_key_jwt_and_its_algorithms(server):
    meta = requests.get(server.url + "/.well-known/oauth-authorization-server").json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in meta["introspection_endpoint_auth_methods_supported"]
    assert set(meta["token_endpoint_auth_signing_alg_values_supported"]) >= {"RS256", "PS256", "ES256"}
    assert not {"none", "HS256"} & set(meta["token_endpoint_auth_signing_alg_values_supported"])


def test_refresh_with_private_key_jwt(server, make_client, alice):
    from tests.unit.test_jwt_support import JWT_BEARER

    client = make_client("Refreshing key client", grants=(G.JWT_BEARER, G.REFRESH_TOKEN),
                         auth_method=ClientAuthMethod.PRIVATE_KEY_JWT, jwks=jwks(public_jwk(EC, kid="kc-1")))
    grant = sign(claims(iss=client.client_id, sub="alice", aud=server.token), EC, kid="kc-1")
    first = post(server.token, {"grant_type": JWT_BEARER, "assertion": grant}).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    # A confidential client must authenticate to refresh (RFC 6749 §6): without it, invalid_client.
    assert post(server.token, refresh).status_code == 401
    r = post(server.token, {**refresh, **client_assertion(server, client)})
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"] != first["refresh_token"]
