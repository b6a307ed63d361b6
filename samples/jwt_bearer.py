"""JWT-bearer grant (RFC 7523 §2.1): a server signs a JWT with its own private key instead of sending a secret."""

import time
import uuid

import jwt
import requests

from .common import SampleFailed, mask


def run(sample):
    client = sample.client("jwt-bearer")
    user = sample.user()
    if not client.get("private_key_pem"):
        raise SampleFailed("the demo JWT client has no key in the credentials file: run `manage.py seed_demo` again")

    sample.step(f"Sign an assertion with the demo private key (kid {client['kid']}): iss = our client_id, "
                f"sub = {user['username']}, aud = the token endpoint")
    now = int(time.time())
    claims = {"iss": client["client_id"], "sub": user["username"], "aud": sample.token_url,
              "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    assertion = jwt.encode(claims, client["private_key_pem"], algorithm="RS256", headers={"kid": client["kid"]})
    sample.say(f"claims: {claims}")
    sample.say(f"assertion: {mask(assertion)} ({len(assertion)} bytes, RS256)")

    sample.step("Exchange it at the token endpoint (no client secret anywhere)")
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion,
            "scope": "photos userinfo/readonly"}
    sample.show_request("POST", sample.token_url, data)
    response = requests.post(sample.token_url, data=data, timeout=15)
    token = sample.show_response(sample.expect(response, what="the JWT-bearer token request"))
    sample.show_token(token)

    sample.step("Replay the same assertion: its jti is single-use")
    replay = requests.post(sample.token_url, data=data, timeout=15)
    sample.show_response(replay)
    if replay.status_code != 400:
        raise SampleFailed("a replayed assertion was accepted")

    sample.step("Call a protected API with the access token")
    sample.call_api("/api/userinfo", token["access_token"])
