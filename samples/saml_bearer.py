"""SAML 2.0 bearer grant (RFC 7522): exchange an enterprise IdP's signed assertion about a user for a token.

The demo IdP is pysaml2 signing with the key `manage.py seed_demo` made for it (the server trusts its
certificate); a real deployment gets the assertion from ADFS, Shibboleth, Okta or Keycloak.
"""

import base64
import tempfile

import requests

from .common import SampleFailed, mask
from .saml_idp import TestIdP, write_keypair

SAML2_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"


def run(sample):
    client = sample.client("saml-bearer")
    user = sample.user()
    idp_keys = client.get("idp") or {}
    if not idp_keys.get("key_pem"):
        raise SampleFailed("the demo IdP has no key in the credentials file: run `manage.py seed_demo` again")

    sample.step(f"The demo IdP ({idp_keys['entity_id']}) signs an assertion about {user['username']} "
                "for this server's token endpoint (pysaml2)")
    with tempfile.TemporaryDirectory() as keys:
        key_file, cert_file = write_keypair(keys, "demo-idp", idp_keys["key_pem"], idp_keys["cert_pem"])
        idp = TestIdP(idp_keys["entity_id"], key_file, cert_file, audience=sample.server, recipient=sample.token_url)
        xml = idp.assertion(name_id=user["username"])
    assertion = base64.urlsafe_b64encode(xml).rstrip(b"=").decode()
    sample.say(f"signed Assertion: {len(xml)} bytes of XML; Audience {sample.server}, Recipient {sample.token_url}")

    sample.step("Exchange it at the token endpoint, authenticating the client as usual")
    data = {"grant_type": SAML2_BEARER, "assertion": assertion, "scope": "photos userinfo/readonly"}
    sample.show_request("POST", sample.token_url, dict(data, assertion=mask(assertion)))
    response = requests.post(sample.token_url, data=data, auth=(client["client_id"], client["client_secret"]),
                             timeout=30)
    token = sample.show_response(sample.expect(response, what="the SAML bearer token request"))
    sample.show_token(token)

    sample.step("Replay the same assertion: its ID is single-use")
    replay = requests.post(sample.token_url, data=data, auth=(client["client_id"], client["client_secret"]), timeout=30)
    sample.show_response(replay)
    if replay.status_code != 400:
        raise SampleFailed("a replayed assertion was accepted")

    sample.step("Call a protected API with the access token")
    sample.call_api("/api/userinfo", token["access_token"])
