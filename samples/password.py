"""Resource owner password (RFC 6749 §4.3): legacy first-party apps that collect the user's password.

RFC 9700 says not to use it: the client sees the password. Prefer authorization-code.
"""

from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

from .common import SampleFailed


def run(sample):
    client = sample.client("password")
    user = sample.user()
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=client["client_id"]))

    sample.step(f"Exchange {user['username']}'s username and password for a token")
    sample.show_request("POST", sample.token_url, {"grant_type": "password", "username": user["username"],
                                                   "password": user["password"], "scope": "photos userinfo/readonly"})
    try:
        token = oauth.fetch_token(sample.token_url, username=user["username"], password=user["password"],
                                  client_id=client["client_id"], client_secret=client["client_secret"],
                                  scope=["photos", "userinfo/readonly"])
    except Exception as e:
        raise SampleFailed(f"the token request failed: {e}")
    sample.show_token(token)

    sample.step("Call a protected API with the access token")
    sample.call_api("/api/userinfo", token["access_token"])
