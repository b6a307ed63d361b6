"""JWT access tokens (RFC 9068): verifiable by a third party with our JWKS alone; revocable at once here."""

import time

import jwt
import pytest
import requests

from oauth_server.constants import AccessTokenFormat
from oauth_server.constants import GrantType as G
from tests.integration.tokens import password_tokens
from tests.unit.test_jwt_support import hs256_with_public_key, private_key, sign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def jwt_service(make_client):
    """A machine client that chose JWT access tokens."""
    return make_client("JWT Service", grants=(G.CLIENT_CREDENTIALS,), scopes=("photos", "userinfo/readonly"),
                       default_scopes=("photos",), access_token_format=AccessTokenFormat.JWT)


@pytest.fixture
def jwt_app(make_client):
    """A first-party app with JWT access tokens for its users, and refresh tokens."""
    return make_client("JWT App", grants=(G.PASSWORD, G.REFRESH_TOKEN), access_token_format=AccessTokenFormat.JWT)


def service_token(server, client, scope="photos"):
    r = requests.post(server.token, data={"grant_type": "client_credentials", "scope": scope},
                      auth=(client.client_id, client.secret))
    assert r.status_code == 200, r.text
    return r.json()


def third_party_verify(server, token):
    """What a resource server elsewhere does: our JWKS, nothing else (RFC 9068 §4)."""
    jwks_client = jwt.PyJWKClient(server.url + "/.well-known/jwks.json", cache_keys=False)
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    return jwt.decode(token, signing_key.key, algorithms=["RS256", "ES256"], audience=server.url, issuer=server.url,
                      options={"require": ["exp", "iat", "iss", "aud", "sub", "client_id", "jti"]})


def active(server, token):
    return requests.get(server.tokeninfo, params={"access_token": token}).status_code == 200


def test_third_party_verifies_a_jwt_access_token_with_the_jwks_alone(server, jwt_service):
    response = service_token(server, jwt_service)
    claims = third_party_verify(server, response["access_token"])
    assert claims["client_id"] == jwt_service.client_id and claims["sub"] == jwt_service.client_id
    assert claims["scope"] == "photos"
    assert claims["exp"] - claims["iat"] == response["expires_in"]
    assert claims["exp"] > time.time()


def test_user_token_names_the_user_by_subject_not_username(server, jwt_app, alice):
    claims = third_party_verify(server, password_tokens(server, jwt_app, "userinfo/readonly")["access_token"])
    assert claims["sub"] == str(alice.pk) and "username" not in claims


def test_refresh_tokens_stay_opaque_and_refresh_gives_a_new_jwt(server, jwt_app, alice):
    first = password_tokens(server, jwt_app, "userinfo/readonly")
    assert first["refresh_token"].count(".") == 0
    r = requests.post(server.token, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                      auth=(jwt_app.client_id, jwt_app.secret))
    assert r.status_code == 200, r.text
    claims = third_party_verify(server, r.json()["access_token"])
    assert claims["sub"] == str(alice.pk) and claims["jti"] != third_party_verify(server, first["access_token"])["jti"]


def test_opaque_is_the_default(server, backup_service):
    token = service_token(server, backup_service)["access_token"]
    assert token.count(".") == 0 and active(server, token)


def test_tokeninfo_and_introspection_accept_jwt_access_tokens(server, jwt_service):
    token = service_token(server, jwt_service)["access_token"]
    info = requests.get(server.tokeninfo, params={"access_token": token}).json()
    assert info["client_id"] == jwt_service.client_id and info["scope"] == "photos"
    r = requests.post(server.introspect, data={"token": token}, auth=(jwt_service.client_id, jwt_service.secret))
    assert r.json()["active"] is True and r.json()["client_id"] == jwt_service.client_id


def test_revoked_jwt_access_token_is_refused_at_once(server, jwt_service):
    token = service_token(server, jwt_service)["access_token"]
    r = requests.post(server.revoke, data={"token": token}, auth=(jwt_service.client_id, jwt_service.secret))
    assert r.status_code == 200
    assert not active(server, token)
    r = requests.post(server.introspect, data={"token": token}, auth=(jwt_service.client_id, jwt_service.secret))
    assert r.json() == {"active": False}
    # The signature alone would still verify: revocation is seen only by asking us.
    assert third_party_verify(server, token)["client_id"] == jwt_service.client_id


def test_revoked_jwt_access_token_is_refused_by_the_apis(server, jwt_app, alice):
    userinfo = server.url + "/api/userinfo"
    token = password_tokens(server, jwt_app, "userinfo/readonly")["access_token"]
    r = requests.get(userinfo, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["username"] == "alice"
    requests.post(server.revoke, data={"token": token}, auth=(jwt_app.client_id, jwt_app.secret))
    r = requests.get(userinfo, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_a_disabled_clients_jwt_access_tokens_stop_working(server, jwt_service):
    token = service_token(server, jwt_service)["access_token"]
    jwt_service.model.enabled = False
    jwt_service.model.save()
    assert not active(server, token)


def test_forged_and_tampered_jwts_are_refused(server, jwt_service):
    token = service_token(server, jwt_service)["access_token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    # Same header and claims, signed by a key that is not ours.
    forged = sign(claims, private_key("rsa", 2), kid=header["kid"], typ="at+jwt")
    assert not active(server, forged)
    # Claims changed after signing.
    other = sign({**claims, "scope": "photos/write"}, private_key("rsa", 2), kid=header["kid"], typ="at+jwt")
    spliced = ".".join([token.split(".")[0], other.split(".")[1], token.split(".")[2]])
    assert not active(server, spliced)
    # alg none, and HS256 with our published public key as the secret (key confusion).
    assert not active(server, jwt.encode(claims, None, algorithm="none", headers={"kid": header["kid"], "typ": "at+jwt"}))
    our_key = jwt.PyJWKClient(server.url + "/.well-known/jwks.json").get_signing_key(header["kid"]).key
    assert not active(server, hs256_with_public_key(claims, our_key, kid=header["kid"], typ="at+jwt"))
    assert active(server, token)



def test_jwt_expiry_is_enforced_even_if_the_row_were_alive(server, jwt_service):
    from oauth_server import signing_keys

    claims = jwt.decode(service_token(server, jwt_service)["access_token"], options={"verify_signature": False})
    expired = signing_keys.sign({**claims, "exp": int(time.time()) - 1}, typ="at+jwt")
    assert not active(server, expired)


def test_a_valid_signature_without_a_stored_token_is_refused(server, jwt_service):
    # Signed by our key but never issued (e.g. the database row is gone): the row lookup decides.
    from oauth_server import signing_keys

    claims = jwt.decode(service_token(server, jwt_service)["access_token"], options={"verify_signature": False})
    never_issued = signing_keys.sign({**claims, "jti": "never-issued"}, typ="at+jwt")
    assert not active(server, never_issued)
