"""Malformed token requests get RFC 6749 §5.2 errors, never a 500."""

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


def assert_oauth_error(r, error, status=400):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert r.headers["Cache-Control"] == "no-store"


def test_duplicate_parameter_is_invalid_request(server, backup_service):
    r = requests.post(server.token, data=[("grant_type", "client_credentials"), ("scope", "photos"), ("scope", "photos")],
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "invalid_request")
    assert "scope" in r.json()["error_description"]


def test_wrong_content_type_is_invalid_request(server, backup_service):
    r = requests.post(server.token, json={"grant_type": "client_credentials"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "invalid_request")


def test_missing_grant_type_is_invalid_request(server, backup_service):
    r = requests.post(server.token, data={"scope": "photos"}, auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "invalid_request")


def test_unknown_grant_type_is_unsupported(server, backup_service):
    r = requests.post(server.token, data={"grant_type": "urn:example:magic"}, auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "unsupported_grant_type")


def test_device_code_grant_is_not_offered(server, backup_service):
    r = requests.post(server.token, data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "unsupported_grant_type")


def test_get_is_refused(server):
    r = requests.get(server.token, params={"grant_type": "client_credentials"})
    assert r.status_code == 405 and r.json()["error"] == "invalid_request"
    assert r.headers["Allow"] == "POST"


def test_arbitrary_parameter_names_are_not_echoed(server, backup_service):
    r = requests.post(server.token, data=[("<script>", "1"), ("<script>", "2"), ("grant_type", "client_credentials")],
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "invalid_request")
    assert "<script>" not in r.text


@pytest.mark.parametrize("body", [b"\x00\x01\x02", b"grant_type=%ZZ", b"=&=&&==", "grant_type=\u00e9".encode("latin-1"),
                                  b"grant_type=client_credentials&" + b"a" * 100_000])
def test_garbage_bodies_never_cause_a_server_error(server, body):
    r = requests.post(server.token, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (400, 401)
    assert r.json()["error"]


def test_query_parameters_on_a_token_post_are_refused(server, backup_service):
    r = requests.post(server.token + "?grant_type=client_credentials", data={"grant_type": "client_credentials"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "invalid_request")


def test_grant_the_client_is_not_allowed_is_unauthorized_client(server, backup_service, alice):
    r = requests.post(server.token, data={"grant_type": "password", "username": "alice", "password": "x"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "unauthorized_client")


def test_unknown_scope_is_invalid_scope(server, backup_service):
    r = requests.post(server.token, data={"grant_type": "client_credentials", "scope": "photos nuclear-codes"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "invalid_scope")


def test_registered_scope_outside_the_clients_allowed_is_invalid_scope(server, backup_service):
    r = requests.post(server.token, data={"grant_type": "client_credentials", "scope": "photos/write"},
                      auth=(backup_service.client_id, backup_service.secret))
    assert_oauth_error(r, "invalid_scope")


def test_no_scope_and_no_default_scopes_is_invalid_scope(server, make_client):
    client = make_client("No defaults", scopes=["photos"], default_scopes=[])
    r = requests.post(server.token, data={"grant_type": "client_credentials"}, auth=(client.client_id, client.secret))
    assert_oauth_error(r, "invalid_scope")


def test_too_many_fields_is_a_json_oauth_error(server):
    body = "&".join(f"p{i}=x" for i in range(1200))
    r = requests.post(server.token, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_nul_characters_are_refused_not_a_server_error(server, backup_service):
    r = requests.post(server.token, data={"grant_type": "client_credentials", "client_id": "bad\x00id",
                                          "client_secret": "x"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    import base64

    basic = base64.b64encode(b"bad\x00id:secret").decode()
    r = requests.post(server.token, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_tokeninfo_refuses_other_methods_in_json(server):
    r = requests.put(server.tokeninfo, data={"access_token": "x"})
    assert r.status_code == 405 and r.json()["error"] == "invalid_request" and "POST" in r.headers["Allow"]
