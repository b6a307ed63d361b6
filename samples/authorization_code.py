"""Authorization code with PKCE S256 (RFC 6749 §4.1, RFC 7636): a web app acting for a user."""

from requests_oauthlib import OAuth2Session

from .callback_app import CallbackApp, user_approves
from .common import SampleFailed


def run(sample):
    client = sample.client("authorization-code")
    redirect_uri = client["redirect_uris"][0]
    oauth = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope=["photos", "userinfo/readonly"],
                          pkce="S256")

    sample.step("Build the authorization URL (state and a PKCE S256 challenge)")
    url, state = oauth.authorization_url(sample.authorize_url)
    sample.show_request("GET", sample.authorize_url, {"client_id": client["client_id"], "redirect_uri": redirect_uri,
                                                     "scope": "photos userinfo/readonly", "state": state,
                                                     "code_challenge_method": "S256"})

    sample.step(f"Send the user to the server; our callback app listens on {redirect_uri}")
    with CallbackApp(redirect_uri) as app:
        callback = user_approves(sample, url, app)
    if "error=" in callback:
        raise SampleFailed(f"the authorization was refused: {callback.split('?', 1)[-1]}")
    sample.say(f"← callback received with a code (state matches: {f'state={state}' in callback})")

    sample.step("Exchange the code (with the PKCE verifier) at the token endpoint")
    sample.show_request("POST", sample.token_url, {"grant_type": "authorization_code", "code": "…",
                                                   "code_verifier": "…", "client_id": client["client_id"]})
    try:
        token = oauth.fetch_token(sample.token_url, authorization_response=callback,
                                  client_secret=client["client_secret"])
    except Exception as e:  # requests-oauthlib raises the OAuth error as an exception
        raise SampleFailed(f"the code exchange failed: {e}")
    sample.show_token(token)

    sample.step("Call a protected API with the access token")
    sample.call_api("/api/userinfo", token["access_token"])
