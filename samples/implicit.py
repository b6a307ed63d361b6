"""Implicit (RFC 6749 §4.2): legacy browser apps. The token comes back in the URL fragment.

RFC 9700 says not to use it: prefer authorization-code with PKCE, even in single-page apps.
"""

from oauthlib.oauth2 import MobileApplicationClient
from requests_oauthlib import OAuth2Session

from .callback_app import CallbackApp, user_approves
from .common import SampleFailed


def run(sample):
    client = sample.client("implicit")
    redirect_uri = client["redirect_uris"][0]
    oauth = OAuth2Session(client=MobileApplicationClient(client_id=client["client_id"]), redirect_uri=redirect_uri,
                          scope=["photos"])

    sample.step("Build the authorization URL (response_type=token)")
    url, state = oauth.authorization_url(sample.authorize_url)
    sample.show_request("GET", sample.authorize_url, {"response_type": "token", "client_id": client["client_id"],
                                                     "scope": "photos", "state": state})

    sample.step("Send the user to the server; the token comes back in the callback URL's fragment")
    with CallbackApp(redirect_uri) as app:
        callback = user_approves(sample, url, app)
    if "error=" in callback:
        raise SampleFailed(f"the authorization was refused: {callback.split('#', 1)[-1]}")
    token = oauth.token_from_fragment(callback)
    sample.show_token(token)

    sample.step("Call a protected API with the access token")
    sample.call_api("/api/photos/", token["access_token"])
