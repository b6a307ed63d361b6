"""Client credentials (RFC 6749 §4.4): a service acting for itself; no user involved."""

import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from .common import SampleFailed, mask


def run(sample):
    client = sample.client("client-credentials")
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=client["client_id"]))

    sample.step("Ask for a token with the client's own credentials (HTTP Basic: client_id:client_secret)")
    sample.show_request("POST", sample.token_url, {"grant_type": "client_credentials", "scope": "photos"})
    sample.say(f"  Authorization: Basic base64({client['client_id']}:{mask(client['client_secret'])})")
    try:
        token = oauth.fetch_token(sample.token_url, client_id=client["client_id"],
                                  client_secret=client["client_secret"], scope=["photos"])
    except Exception as e:
        raise SampleFailed(f"the token request failed: {e}")
    sample.show_token(token)

    sample.step("Ask the token information service what the token is (POST: tokens stay out of URLs and logs)")
    sample.show_request("POST", sample.server + "/oauth/tokeninfo", {"access_token": token["access_token"]})
    response = requests.post(sample.server + "/oauth/tokeninfo", data={"access_token": token["access_token"]},
                             timeout=15)
    sample.expect(response, what="tokeninfo")
    sample.show_response(response)
    sample.say("protected API call succeeded: the token is valid and has no user (client credentials)")
