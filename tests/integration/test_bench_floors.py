"""The benchmark's floors (bench/floors.py) answer as the endpoints they stand for, with the same SQL.

A floor that skipped a check or a statement would be faster than the work allows: the gap between it and
the real endpoint would then be blamed on the framework.
"""

import base64
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth2_provider.models import get_access_token_model

from audit.models import AuditEvent
from oauth_server.constants import GrantType as G

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("bench.urls"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL only"),
]


def basic(client):
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()


def statements(queries):
    """The SQL sent, without its values (nor the savepoint names of the test's transaction)."""
    return [re.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", query["sql"]) for query in queries.captured_queries]


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
    assert statements(floor_queries) == statements(real_queries) and len(real_queries) == 2
    introspected = post("/oauth/introspect", {"token": floor.json()["access_token"]}, resource_server).json()
    assert introspected["active"] and introspected["client_id"] == backup_service.client_id
    assert introspected["scope"] == "photos"
    events = AuditEvent.objects.filter(oauth_client_id=backup_service.client_id, event="token_issued")
    assert events.count() == 2


@pytest.mark.parametrize("change, error, status", [
    ({"secret": "wrong"}, "invalid_client", 401),
    ({"client_id": "nobody"}, "invalid_client", 401),
    ({"client_id": "nul\x00"}, "invalid_client", 401),
    ({"scope": "photos/write"}, "invalid_scope", 400),
    ({"grant_type": "urn:example:nonsense"}, "unsupported_grant_type", 400),
    ({"grant_type": ""}, "invalid_request", 400),
    ({"form": {"client_secret": "also-in-the-body"}}, "invalid_request", 400),  # two methods
    ({"form": {"client_id": "someone-else"}}, None, None),  # refused by both (400 or 401)
])
def test_the_client_credentials_floor_refuses_what_the_server_refuses(backup_service, change, error, status):
    client = type(backup_service)(**{**vars(backup_service), **{k: v for k, v in change.items()
                                                                 if k in ("secret", "client_id")}})
    form = {"grant_type": change.get("grant_type", "client_credentials"), "scope": change.get("scope", "photos"),
            **change.get("form", {})}
    floor, real = (post(path, form, client) for path in ("/bench/floor/client-credentials", "/oauth/token"))
    if error is None:
        assert floor.status_code in (400, 401) and real.status_code in (400, 401)
    else:
        assert (floor.status_code, floor.json()["error"]) == (real.status_code, real.json()["error"]) == (status, error)


def test_the_floor_refuses_clients_the_server_refuses(make_client):
    other_method = make_client("Posts its secret", grants=(G.CLIENT_CREDENTIALS,), scopes=("photos",),
                               auth_method="client_secret_post")
    no_grant = make_client("Code only", grants=(G.AUTHORIZATION_CODE,), scopes=("photos",),
                           redirect_uris=["https://printer.example/callback"])
    for client, error in ((other_method, "invalid_client"), (no_grant, "unauthorized_client")):
        form = {"grant_type": "client_credentials", "scope": "photos"}
        floor, real = (post(path, form, client) for path in ("/bench/floor/client-credentials", "/oauth/token"))
        assert floor.json()["error"] == real.json()["error"] == error


def test_a_disabled_client_gets_no_token_from_the_floor(backup_service):
    backup_service.model.enabled = False
    backup_service.model.save()
    r = post("/bench/floor/client-credentials", {"grant_type": "client_credentials"}, backup_service)
    assert r.status_code == 401


def users_token(client, user):
    """A live opaque access token of `user`, as the benchmark seeds them."""
    value = f"bench-{user.username}-token"
    get_access_token_model().objects.create(user=user, application=client.model, token=value, scope="photos",
                                            expires=timezone.now() + timedelta(hours=1))
    return value


def test_the_introspection_floor_answers_as_introspection(backup_service, resource_server, photo_printer, alice):
    client_token = post("/oauth/token", {"grant_type": "client_credentials"}, backup_service).json()["access_token"]
    for token in (client_token, users_token(photo_printer, alice)):
        with CaptureQueriesContext(connection) as floor_queries:
            floor = post("/bench/floor/introspect", {"token": token}, resource_server).json()
        with CaptureQueriesContext(connection) as real_queries:
            real = post("/oauth/introspect", {"token": token}, resource_server).json()
        assert floor == real and floor["active"]
        assert statements(floor_queries) == statements(real_queries) and len(real_queries) == 2
    # Not an access token: the server then looks for a refresh token too; the floor, which the benchmark only
    # asks about access tokens, does not. The answer is the same.
    assert (post("/bench/floor/introspect", {"token": "not-a-token"}, resource_server).json()
            == post("/oauth/introspect", {"token": "not-a-token"}, resource_server).json() == {"active": False})
    # A caller without may_introspect_any_token learns nothing about another client's token.
    assert (post("/bench/floor/introspect", {"token": client_token}, photo_printer).json()
            == post("/oauth/introspect", {"token": client_token}, photo_printer).json() == {"active": False})
    alice.is_active = False
    alice.save()
    assert (post("/bench/floor/introspect", {"token": "bench-alice-token"}, resource_server).json()
            == post("/oauth/introspect", {"token": "bench-alice-token"}, resource_server).json() == {"active": False})


@pytest.fixture
def mobile_app(make_client):
    return make_client("Mobile", grants=(G.PASSWORD, G.REFRESH_TOKEN), scopes=("photos",))


def password_pair(client):
    from tests.conftest import PASSWORDS

    r = post("/oauth/token", {"grant_type": "password", "username": "alice", "password": PASSWORDS["alice"],
                              "scope": "photos"}, client)
    assert r.status_code == 200, r.content
    return r.json()


def test_the_refresh_floor_rotates_as_the_server_does(mobile_app, resource_server, alice):
    first, second = password_pair(mobile_app), password_pair(mobile_app)
    with CaptureQueriesContext(connection) as floor_queries:
        floor = post("/bench/floor/refresh-token", {"grant_type": "refresh_token",
                                                    "refresh_token": first["refresh_token"]}, mobile_app)
    with CaptureQueriesContext(connection) as real_queries:
        real = post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
                    mobile_app)
    assert floor.status_code == real.status_code == 200, floor.content
    assert set(floor.json()) == set(real.json()) and floor.json()["scope"] == real.json()["scope"] == "photos"
    assert statements(floor_queries) == statements(real_queries)
    # Rotation: the old tokens are gone, the new pair works on the real server, the old refresh token is refused.
    assert post("/oauth/introspect", {"token": first["access_token"]}, resource_server).json() == {"active": False}
    assert post("/oauth/introspect", {"token": floor.json()["access_token"]}, resource_server).json()["active"]
    again = post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": floor.json()["refresh_token"]},
                 mobile_app)
    assert again.status_code == 200
    for path in ("/bench/floor/refresh-token", "/oauth/token"):
        used = post(path, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}, mobile_app)
        assert (used.status_code, used.json()["error"]) == (400, "invalid_grant"), path


def test_the_refresh_floor_refuses_another_clients_token(mobile_app, make_client, alice):
    other = make_client("Other app", grants=(G.PASSWORD, G.REFRESH_TOKEN), scopes=("photos",))
    pair = password_pair(mobile_app)
    for path in ("/bench/floor/refresh-token", "/oauth/token"):
        r = post(path, {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}, other)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), path
