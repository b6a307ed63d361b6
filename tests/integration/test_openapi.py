"""/api/schema/ (OpenAPI 3) and /api/docs/: the OAuth 2.0 security scheme and each operation's scopes."""

import re
import pytest
import requests

from resources.models import GatewayRoute

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def schema(server, scopes):
    GatewayRoute.objects.create(name="Photo API", prefix="photo-api", upstream_url="http://127.0.0.1:9/v1",
                                required_scopes={"GET": ["photos"], "POST": ["photos/write"]})
    GatewayRoute.objects.create(name="Old API", prefix="old", upstream_url="http://127.0.0.1:9/v0",
                                required_scopes={"GET": []}, enabled=False)
    r = requests.get(server.url + "/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert r.status_code == 200, r.text
    return r.json()


def security(schema, path, method):
    return schema["paths"][path][method]["security"]


def test_schema_is_openapi_3_and_needs_no_token(schema):
    assert schema["openapi"].startswith("3.")


def test_schema_declares_the_oauth2_scheme_with_our_endpoints_and_scopes(schema, server):
    scheme = schema["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == server.token
    assert scheme["flows"]["authorizationCode"]["authorizationUrl"] == server.authorize
    assert set(scheme["flows"]["authorizationCode"]["scopes"]) == {"photos", "photos/write", "userinfo/readonly"}


def test_each_operation_declares_its_scopes(schema):
    assert security(schema, "/api/userinfo", "get") == [{"oauth2": ["userinfo/readonly"]}]
    assert security(schema, "/api/photos/", "get") == [{"oauth2": ["photos"]}]
    assert security(schema, "/api/photos/", "post") == [{"oauth2": ["photos/write"]}]
    assert security(schema, "/api/photos/{id}/", "get") == [{"oauth2": ["photos"]}]
    for method in ("put", "patch", "delete"):
        assert security(schema, "/api/photos/{id}/", method) == [{"oauth2": ["photos/write"]}]
    assert security(schema, "/api/photos/{id}/image/", "get") == [{"oauth2": ["photos"]}]


def test_protected_operations_document_the_bearer_errors(schema):
    responses = schema["paths"]["/api/photos/"]["get"]["responses"]
    assert {"200", "400", "401", "403"} <= set(responses)
    assert responses["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_tokeninfo_and_enabled_gateway_routes_are_described(schema):
    assert security(schema, "/oauth/tokeninfo", "get") == []
    assert set(schema["paths"]["/oauth/tokeninfo"]) == {"get", "post"}
    route = schema["paths"]["/gateway/photo-api/{path}"]
    assert route["get"]["security"] == [{"oauth2": ["photos"]}]
    assert route["post"]["security"] == [{"oauth2": ["photos/write"]}]
    assert {"404", "413", "502", "504"} <= set(route["get"]["responses"])
    assert not any(path.startswith("/gateway/old/") for path in schema["paths"])


def test_schema_is_served_as_yaml_by_default(server, db):
    r = requests.get(server.url + "/api/schema/")
    assert r.status_code == 200 and r.text.startswith("openapi: 3.")


def test_docs_page_renders_swagger_ui_with_every_file_from_our_server(server, db):
    page = requests.get(server.url + "/api/docs/")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'id="swagger-ui"' in page.text
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert requests.get(server.url + asset).status_code == 200, asset
    script = requests.get(server.url + "/api/docs/?script=")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.text
