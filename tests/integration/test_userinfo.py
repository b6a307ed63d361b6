"""GET /api/userinfo: scope userinfo/readonly, and the RFC 6750 §3 errors every protected API shares."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from oauth_server.constants import GrantType as G
from tests.integration.tokens import bearer, challenge, revoke, service_token, user_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mobile_app(make_client):
    return make_client("Trusted Mobile App", grants=(G.PASSWORD, G.REFRESH_TOKEN))


@pytest.fixture
def userinfo(server):
    return server.url + "/api/userinfo"


def test_userinfo_describes_the_resource_owner(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    r = requests.get(userinfo, headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {"sub": str(alice.pk), "username": "alice", "email": "alice@example.org", "name": "Alice"}
    assert r.headers["Cache-Control"] == "no-store"


def test_token_without_userinfo_scope_is_refused_with_insufficient_scope(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "photos")
    r = requests.get(userinfo, headers=bearer(token))
    assert r.status_code == 403
    assert challenge(r)["error"] == "insufficient_scope"
    assert challenge(r)["scope"] == "userinfo/readonly"
    assert r.json()["error"] == "insufficient_scope" and r.json()["scope"] == "userinfo/readonly"


def test_client_credentials_token_is_refused_because_it_has_no_resource_owner(server, userinfo, make_client):
    service = make_client("Directory Sync", grants=(G.CLIENT_CREDENTIALS,))
    token = service_token(server, service, "userinfo/readonly")
    r = requests.get(userinfo, headers=bearer(token))
    assert r.status_code == 403
    assert challenge(r)["error"] == "insufficient_scope"
    assert "resource owner" in r.json()["error_description"]


def test_request_without_a_token_is_refused_with_invalid_token(userinfo, db):
    r = requests.get(userinfo)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert r.json()["error"] == "invalid_token" and r.json()["error_description"]


def test_other_authorization_scheme_is_refused_with_invalid_token(userinfo, mobile_app):
    r = requests.get(userinfo, auth=(mobile_app.client_id, mobile_app.secret))
    assert r.status_code == 401
    assert challenge(r)["error"] == "invalid_token"


@pytest.mark.parametrize("header", ["Bearer not-a-token-we-issued", "Bearer", "Bearer two words",
                                    "bearer " + "x" * 9000])
def test_unknown_or_malformed_token_is_refused_with_invalid_token(userinfo, db, header):
    r = requests.get(userinfo, headers={"Authorization": header})
    assert r.status_code == 401
    assert challenge(r)["error"] == "invalid_token"
    assert r.json()["error"] == "invalid_token"


def test_bearer_scheme_name_is_case_insensitive(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    assert requests.get(userinfo, headers={"Authorization": f"bEaReR {token}"}).status_code == 200


def test_expired_token_is_refused_with_invalid_token(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    r = requests.get(userinfo, headers=bearer(token))
    assert r.status_code == 401
    assert challenge(r)["error"] == "invalid_token"


def test_token_of_a_disabled_client_is_refused_with_invalid_token(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    mobile_app.model.enabled = False
    mobile_app.model.save(update_fields=["enabled"])
    r = requests.get(userinfo, headers=bearer(token))
    assert r.status_code == 401
    assert challenge(r)["error"] == "invalid_token"


def test_revoked_token_is_refused_on_the_very_next_call(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    assert requests.get(userinfo, headers=bearer(token)).status_code == 200
    revoke(server, mobile_app, token)
    r = requests.get(userinfo, headers=bearer(token))
    assert r.status_code == 401
    assert challenge(r)["error"] == "invalid_token"


def test_token_in_the_query_string_is_refused(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    r = requests.get(userinfo, params={"access_token": token})
    assert r.status_code == 400
    assert challenge(r)["error"] == "invalid_request"
    assert r.json()["error"] == "invalid_request"


def test_token_in_the_query_string_is_refused_even_beside_a_valid_header(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    r = requests.get(userinfo, params={"access_token": token}, headers=bearer(token))
    assert r.status_code == 400


def test_token_in_a_form_body_is_not_accepted(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    r = requests.get(userinfo, data={"access_token": token})
    assert r.status_code == 401


def test_method_without_a_scope_rule_is_refused_with_405(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    r = requests.post(userinfo, headers=bearer(token))
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"
    assert r.json()["error"] == "method_not_allowed"


def test_the_openapi_schema_describes_exactly_the_fields_userinfo_returns(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    returned = requests.get(userinfo, headers=bearer(token)).json()
    schema = requests.get(server.url + "/api/schema/", headers={"Accept": "application/json"}).json()
    response = schema["paths"]["/api/userinfo"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    described = schema["components"]["schemas"][response["$ref"].rsplit("/", 1)[1]]
    assert set(described["properties"]) == set(returned)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*", "text/html, */*;q=0.1"])
def test_the_apis_answer_json_to_any_client_that_accepts_it(server, userinfo, mobile_app, alice, accept):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    headers = {**bearer(token), **({"Accept": accept} if accept else {})}
    session = requests.Session()
    session.headers.pop("Accept")  # requests sends */* by default: test without any Accept too
    r = session.get(userinfo, headers=headers)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert r.json()["username"] == "alice"


def test_a_client_that_accepts_only_html_is_told_406_in_json(server, userinfo, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    r = requests.get(userinfo, headers={**bearer(token), "Accept": "text/html"})
    assert r.status_code == 406 and r.headers["Content-Type"] == "application/json"
    assert r.json()["error"] == "not_acceptable"
    assert requests.get(userinfo + "?format=xml", headers=bearer(token)).status_code == 404
