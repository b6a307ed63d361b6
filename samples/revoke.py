"""Revocation (RFC 7009): a client throws away a token it no longer needs, e.g. at logout."""

import requests
from authlib.integrations.requests_client import OAuth2Session

from .common import SampleFailed


def run(sample):
    client = sample.client("password")
    user = sample.user()
    session = OAuth2Session(client["client_id"], client["client_secret"], scope="photos",
                            revocation_endpoint_auth_method="client_secret_basic")

    sample.step("Get a token pair (Authlib, password grant)")
    try:
        token = session.fetch_token(sample.token_url, username=user["username"], password=user["password"])
    except Exception as e:
        raise SampleFailed(f"the token request failed: {e}")
    sample.show_token(token)
    sample.call_api("/api/photos/", token["access_token"])

    sample.step("Revoke the refresh token: its access token goes with it")
    sample.show_request("POST", sample.server + "/oauth/revoke", {"token": token["refresh_token"],
                                                                  "token_type_hint": "refresh_token"})
    response = session.revoke_token(sample.server + "/oauth/revoke", token=token["refresh_token"],
                                    token_type_hint="refresh_token")
    sample.expect(response, what="revocation")
    sample.say(f"← HTTP {response.status_code}")

    sample.step("The access token no longer works")
    response = requests.get(sample.server + "/api/photos/", headers={"Authorization": f"Bearer {token['access_token']}"},
                            timeout=15)
    sample.show_response(response)
    sample.say(f"WWW-Authenticate: {response.headers.get('WWW-Authenticate')}")
    if response.status_code != 401:
        raise SampleFailed("the revoked token still works")
