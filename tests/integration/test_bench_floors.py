"""The benchmark's floors (bench/floors.py) answer as the endpoints they stand for, with the same SQL.

A floor that skipped a check or a statement would make a target look out of reach when it is not.
"""

import base64
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from oauth_server.constants import GrantType as G

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("bench.urls"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL only"),
]


def basic(client):
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()


def post(path, data, client):
    return HttpClient().post(path, urlencode(data), "application/x-www-form-urlencoded",
                             headers={"Authorization": basic(client)}, secure=True)


@pytest.fixture
def resource_server(make_client):
    return make_client("Photo API", grants=(G.CLIENT_CREDENTIALS,), scopes=("photos",),
                       may_introspect_any_token=True)


def test_the_client_credentials_floor_issues_a_token_the_server_accepts(backup_service, resource_server):
    with CaptureQueriesContext(connection) as floor_queries:
        floor = post("/bench/floor/client-credentials", {"grant_type": "client_credentials", "scope": "photos"},
                     backup_service)
    with CaptureQueriesContext(connection) as real_queries:
        real = post("/oauth/token", {"grant_type": "client_credentials", "scope": "photos"}, backup_service)
    assert floor.status_code == real.status_code == 200
    assert floor["Cache-Control"] == "no-store"
    assert set(floor.json()) == set(real.json())
    assert len(floor_queries) == len(real_queries) == 2
    introspected = post("/oauth/introspect", {"token": floor.json()["access_token"]}, resource_server).json()
    assert introspected["active"] and introspected["client_id"] == backup_service.client_id
    assert introspected["scope"] == "photos"
    events = AuditEvent.objects.filter(oauth_client_id=backup_service.client_id, event="token_issued")
    assert events.count() == 2


@pytest.mark.parametrize("change, error, status", [
    ({"secret": "wrong"}, "invalid_client", 401),
    ({"client_id": "nobody"}, "invalid_client", 401),
    ({"scope": "photos/write"}, "invalid_scope", 400),
    ({"grant_type": "urn:example:nonsense"}, "unsupported_grant_type", 400),
])
def test_the_client_credentials_floor_refuses_what_the_server_refuses(backup_service, change, error, status):
    client = type(backup_service)(**{**vars(backup_service), **{k: v for k, v in change.items()
                                                                 if k in ("secret", "client_id")}})
    form = {"grant_type": change.get("grant_type", "client_credentials"), "scope": change.get("scope", "photos")}
    for path in ("/bench/floor/client-credentials", "/oauth/token"):
        r = post(path, form, client)
        assert (r.status_code, r.json()["error"]) == (status, error), path


def test_a_disabled_client_gets_no_token_from_the_floor(backup_service):
    backup_service.model.enabled = False
    backup_service.model.save()
    r = post("/bench/floor/client-credentials", {"grant_type": "client_credentials"}, backup_service)
    assert r.status_code == 401


def test_the_introspection_floor_answers_as_introspection(backup_service, resource_server, photo_printer, alice):
    token = post("/oauth/token", {"grant_type": "client_credentials"}, backup_service).json()["access_token"]
    with CaptureQueriesContext(connection) as floor_queries:
        floor = post("/bench/floor/introspect", {"token": token}, resource_server).json()
    with CaptureQueriesContext(connection) as real_queries:
        real = post("/oauth/introspect", {"token": token}, resource_server).json()
    assert floor == real and floor["active"]
    assert len(floor_queries) == len(real_queries) == 2
    # Not an access token: the server then looks for a refresh token too; the floor, which the benchmark only
    # asks about access tokens, does not. The answer is the same.
    assert (post("/bench/floor/introspect", {"token": "not-a-token"}, resource_server).json()
            == post("/oauth/introspect", {"token": "not-a-token"}, resource_server).json() == {"active": False})
    # A caller without may_introspect_any_token learns nothing about another client's token.
    assert post("/bench/floor/introspect", {"token": token}, photo_printer).json() == {"active": False}
