"""Refresh tokens (RFC 6749 §6): new access tokens without asking the user; each refresh rotates the refresh token."""

import requests
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

from .common import SampleFailed


def run(sample):
    client = sample.client("password")
    user = sample.user()
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=client["client_id"]))
    auth = (client["client_id"], client["client_secret"])

    sample.step("Get a first token pair (password grant, for brevity)")
    try:
        first = oauth.fetch_token(sample.token_url, username=user["username"], password=user["password"],
                                  client_id=client["client_id"], client_secret=client["client_secret"],
                                  scope=["photos", "userinfo/readonly"])
    except Exception as e:
        raise SampleFailed(f"the token request failed: {e}")
    sample.show_token(first)

    sample.step("Refresh it, narrowing the scope to photos")
    sample.show_request("POST", sample.token_url, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                                   "scope": "photos"})
    try:
        oauth.scope = ["photos"]
        second = oauth.refresh_token(sample.token_url, auth=auth)
    except Exception as e:
        raise SampleFailed(f"the refresh failed: {e}")
    sample.show_token(second)
    sample.say(f"the refresh token was rotated: {first['refresh_token'] != second['refresh_token']}")

    sample.step("Call a protected API with the new access token")
    sample.call_api("/api/photos/", second["access_token"])

    sample.step("Replay the old refresh token: the server treats it as theft and revokes the whole family")
    response = requests.post(sample.token_url, data={"grant_type": "refresh_token",
                                                     "refresh_token": first["refresh_token"]}, auth=auth, timeout=15)
    sample.show_response(response)
    if response.status_code != 400:
        raise SampleFailed("the rotated refresh token was accepted again")
    check = requests.post(sample.server + "/oauth/tokeninfo", data={"access_token": second["access_token"]}, timeout=15)
    sample.say(f"refused, as it must be; the newer access token now gets HTTP {check.status_code} from tokeninfo "
               f"({'revoked with its family' if check.status_code == 400 else 'STILL VALID'})")
    if check.status_code != 400:
        raise SampleFailed("the token family was not revoked")
