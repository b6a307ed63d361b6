"""Client authentication at the token endpoint (RFC 6749 §2.3, §5.2)."""

import base64

import pytest
import requests

from oauth_server.constants import ClientAuthMethod

pytestmark = pytest.mark.django_db(transaction=True)

CC = {"grant_type": "client_credentials", "scope": "photos"}


def test_wrong_secret_is_invalid_client_with_basic_challenge(server, backup_service):
    r = requests.post(server.token, data=CC, auth=(backup_service.client_id, "not-the-secret"))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_client_gets_the_same_answer_as_a_wrong_secret(server, backup_service):
    wrong_secret = requests.post(server.token, data=CC, auth=(backup_service.client_id, "nope"))
    unknown = requests.post(server.token, data=CC, auth=("no-such-client", "nope"))
    assert (unknown.status_code, unknown.json(), unknown.headers["WWW-Authenticate"]) == (
        wrong_secret.status_code, wrong_secret.json(), wrong_secret.headers["WWW-Authenticate"])


def test_secret_is_stored_only_as_a_keyed_hash(backup_service):
    stored = backup_service.model.client_secret
    assert backup_service.secret not in stored
    assert stored.startswith("hmac-sha256$")
    assert len(backup_service.secret) >= 43  # 256 bits, base64url


def test_registered_method_is_enforced(server, backup_service, make_client):
    # backup_service is registered for client_secret_basic: the same credentials in the body fail.
    r = requests.post(server.token, data=dict(CC, client_id=backup_service.client_id, client_secret=backup_service.secret))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"

    poster = make_client("Poster", scopes=["photos"], auth_method=ClientAuthMethod.CLIENT_SECRET_POST)
    r = requests.post(server.token, data=dict(CC, client_id=poster.client_id, client_secret=poster.secret))
    assert r.status_code == 200
    r = requests.post(server.token, data=CC, auth=(poster.client_id, poster.secret))
    assert r.status_code == 401


def test_two_authentication_methods_in_one_request_are_refused(server, backup_service):
    r = requests.post(server.token, data=dict(CC, client_id=backup_service.client_id, client_secret=backup_service.secret),
                      auth=(backup_service.client_id, backup_service.secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_basic_credentials_are_form_urlencoded(server, make_client):
    # RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64. Our ids and secrets are
    # URL-safe; a client that encodes them anyway must still be accepted.
    client = make_client("Encoder", scopes=["photos"])
    raw = f"{client.client_id}:{client.secret}".replace("-", "%2D")
    header = "Basic " + base64.b64encode(raw.encode()).decode()
    assert requests.post(server.token, data=CC, headers={"Authorization": header}).status_code == 200


def test_garbage_basic_header_is_invalid_client(server):
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic " + base64.b64encode(b"\xff\xfe:x").decode()):
        r = requests.post(server.token, data=CC, headers={"Authorization": header})
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", header


def test_disabled_client_is_invalid_client_and_its_tokens_stop_working(server, backup_service):
    token = requests.post(server.token, data=CC, auth=(backup_service.client_id, backup_service.secret)).json()
    backup_service.model.enabled = False
    backup_service.model.save()
    r = requests.post(server.token, data=CC, auth=(backup_service.client_id, backup_service.secret))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    info = requests.get(server.tokeninfo, params={"access_token": token["access_token"]})
    assert info.status_code == 400 and info.json()["error"] == "invalid_token"


def test_public_client_cannot_use_client_credentials(server, make_client):
    with pytest.raises(Exception):
        make_client("Public", public=True)
