"""Getting real grants from a running server over HTTP, as clients do: codes through the real login and
consent forms, JWT-bearer assertions signed with the demo client's key, SAML assertions signed by the
test IdP. Shared by the concurrency, soak and several-servers tests."""

import threading
import time
import uuid
from urllib.parse import urlencode

import jwt
import requests

from oauth_server.constants import GrantType
from samples.user_agent import Browser, callback_params

PRINTER_CALLBACK = "http://127.0.0.1:8765/callback"
TIMEOUT = 30


def grant_types_supported(server):
    r = requests.get(server.url + "/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    r.raise_for_status()
    return set(r.json()["grant_types_supported"])


def authorization_code(server, clients, users, browser=None, username="alice", scope="photos userinfo/readonly"):
    """A fresh authorization code for the demo Photo Printer, through the login and consent forms."""
    client = clients["authorization-code"]
    browser = browser or Browser()
    query = urlencode({"response_type": "code", "client_id": client["client_id"], "redirect_uri": PRINTER_CALLBACK,
                       "scope": scope, "state": uuid.uuid4().hex})
    location = browser.authorize(f"{server.url}/oauth/authorize?{query}", username, users[username]["password"])
    params = callback_params(location)
    assert "code" in params, location
    return params["code"]


def code_exchange(server, clients, code, session=requests):
    client = clients["authorization-code"]
    return session.post(server.token, data={"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": PRINTER_CALLBACK},
                        auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT)


def jwt_assertion(server, clients, subject="alice", jti=None):
    client = clients["jwt-bearer"]
    now = int(time.time())
    claims = {"iss": client["client_id"], "sub": subject, "aud": server.audience, "iat": now, "exp": now + 300,
              "jti": jti or str(uuid.uuid4())}
    return jwt.encode(claims, client["private_key_pem"], algorithm="RS256", headers={"kid": client["kid"]})


def jwt_exchange(server, assertion, session=requests, scope="photos userinfo/readonly"):
    return session.post(server.token, data={"grant_type": GrantType.JWT_BEARER, "assertion": assertion, "scope": scope},
                        timeout=TIMEOUT)


def saml_assertion(server, idp, subject="alice"):
    """A signed SAML assertion for `server` (its issuer's token endpoint is the audience and recipient)."""
    return idp.encoded(name_id=subject, audience=server.audience, recipient=server.audience)


def saml_exchange(server, saml_client, assertion, session=requests, scope="photos"):
    return session.post(server.token, data={"grant_type": GrantType.SAML2_BEARER, "assertion": assertion, "scope": scope},
                        auth=(saml_client["client_id"], saml_client["client_secret"]), timeout=TIMEOUT)


def all_at_once(count, send):
    """Call send(i) from `count` threads released together; return the responses (exceptions re-raised)."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        session = requests.Session()  # a connection of its own
        try:
            barrier.wait(timeout=30)
            results[i] = send(i, session)
        except Exception as error:  # noqa: BLE001 - reported below
            results[i] = error
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def outcome(responses):
    """{status: count} and the sorted error codes of the refusals."""
    statuses = {}
    errors = []
    for r in responses:
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code != 200:
            try:
                errors.append(r.json().get("error"))
            except ValueError:
                errors.append(r.text[:100])
    return statuses, sorted(errors)
