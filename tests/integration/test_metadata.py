"""RFC 8414 authorization server metadata."""

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


def test_metadata_lists_what_the_server_does(server, scopes):
    meta = requests.get(server.url + "/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == server.url
    assert meta["authorization_endpoint"] == server.authorize
    assert meta["token_endpoint"] == server.token
    assert meta["revocation_endpoint"] == server.revoke
    assert meta["introspection_endpoint"] == server.introspect
    assert meta["tokeninfo_endpoint"] == server.tokeninfo
    assert {"authorization_code", "implicit", "password", "client_credentials", "refresh_token"} <= set(meta["grant_types_supported"])
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(meta["token_endpoint_auth_methods_supported"])
    assert set(meta["scopes_supported"]) == {"photos", "photos/write", "userinfo/readonly"}
    assert meta["authorization_response_iss_parameter_supported"] is True
