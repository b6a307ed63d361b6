"""Checking a token: the holder asks tokeninfo; a resource server asks the introspection endpoint (RFC 7662)."""

import requests
from authlib.integrations.requests_client import OAuth2Session

from .common import SampleFailed


def run(sample):
    client = sample.client("client-credentials")
    resource_server = sample.client("resource-server")

    sample.step("The backup service gets a token (Authlib, client credentials)")
    session = OAuth2Session(client["client_id"], client["client_secret"], scope="photos")
    try:
        token = session.fetch_token(sample.token_url, grant_type="client_credentials")
    except Exception as e:
        raise SampleFailed(f"the token request failed: {e}")
    sample.show_token(token)

    sample.step("The holder checks it at /oauth/tokeninfo (no client credentials needed; POST keeps it out of URLs)")
    sample.show_request("POST", sample.server + "/oauth/tokeninfo", {"access_token": token["access_token"]})
    info = sample.show_response(sample.expect(requests.post(sample.server + "/oauth/tokeninfo",
                                                            data={"access_token": token["access_token"]}, timeout=15),
                                              what="tokeninfo"))
    sample.say(f"audience={info['audience']} scope={info['scope']!r} expires_in={info['expires_in']}s")

    sample.step("The photo API (a resource server allowed to introspect any token) asks /oauth/introspect")
    api = OAuth2Session(resource_server["client_id"], resource_server["client_secret"])
    sample.show_request("POST", sample.server + "/oauth/introspect", {"token": token["access_token"]})
    response = api.introspect_token(sample.server + "/oauth/introspect", token=token["access_token"])
    body = sample.show_response(sample.expect(response, what="introspection"))
    if not body.get("active"):
        raise SampleFailed("the token is not active")
    sample.say(f"active token of client {body['client_id']} with scope {body['scope']!r}")
    sample.say("protected API call succeeded (introspection is the resource server's protected call)")
