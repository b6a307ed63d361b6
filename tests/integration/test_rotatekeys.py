"""manage.py rotatekeys: a new signing key without breaking a token that is still valid."""

import json
from datetime import timedelta
from io import StringIO

import jwt
import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from oauth_server import signing_keys
from oauth_server.constants import AccessTokenFormat
from oauth_server.constants import GrantType as G
from oauth_server.models import SigningKey

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    out = StringIO()
    call_command("rotatekeys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def jwt_service(make_client):
    return make_client("JWT Service", grants=(G.CLIENT_CREDENTIALS,), scopes=("photos",),
                       access_token_format=AccessTokenFormat.JWT)


def new_token(server, client):
    r = requests.post(server.token, data={"grant_type": "client_credentials"}, auth=(client.client_id, client.secret))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def published_kids(server):
    return [k["kid"] for k in requests.get(server.url + "/.well-known/jwks.json").json()["keys"]]


def verifies_with_jwks_alone(server, token):
    key = jwt.PyJWKClient(server.url + "/.well-known/jwks.json", cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256", "ES256"], audience=server.url, issuer=server.url)


def accepted_by_tokeninfo(server, token):
    return requests.get(server.tokeninfo, params={"access_token": token}).status_code == 200


def test_a_token_issued_before_rotation_still_works_after_it(server, jwt_service):
    before = new_token(server, jwt_service)
    old_kid = jwt.get_unverified_header(before)["kid"]

    out = run()
    new_kid = SigningKey.objects.get(is_current=True).kid
    assert f"new current key: {new_kid} (RS256)" in out and f"still published: {old_kid}" in out

    assert published_kids(server) == [new_kid, old_kid]
    assert verifies_with_jwks_alone(server, before)["client_id"] == jwt_service.client_id
    assert accepted_by_tokeninfo(server, before)
    after = new_token(server, jwt_service)
    assert jwt.get_unverified_header(after)["kid"] == new_kid

    # Retiring the old key early is refused while its tokens may be valid; --force does it.
    with pytest.raises(CommandError, match="may be valid until"):
        run(f"--retire={old_kid}")
    run(f"--retire={old_kid}", "--force")
    assert published_kids(server) == [new_kid]
    assert not accepted_by_tokeninfo(server, before)
    assert accepted_by_tokeninfo(server, after)


def test_old_key_stays_published_until_the_longest_token_lifetime_has_passed(server, make_client, settings):
    make_client("Long-lived", grants=(G.CLIENT_CREDENTIALS,), scopes=("photos",), access_token_lifetime=7200)
    old = signing_keys.current_signing_key()
    before = timezone.now()
    run()
    old.refresh_from_db()
    assert not old.is_current
    assert old.retire_after >= before + timedelta(seconds=7200 + settings.JWT_CLOCK_SKEW_SECONDS)
    # Once that time has passed it drops out of the JWKS by itself, and the next rotation deletes it.
    SigningKey.objects.filter(pk=old.pk).update(retire_after=timezone.now() - timedelta(seconds=1))
    assert old.kid not in published_kids(server)
    assert old.kid in run()  # "removed (all its tokens have expired): <kid>"
    assert not SigningKey.objects.filter(pk=old.pk).exists()


def test_retiring_the_current_key_is_refused(db):
    current = signing_keys.current_signing_key()
    with pytest.raises(CommandError, match="is the current signing key"):
        run(f"--retire={current.kid}")


def test_retiring_an_unknown_key_is_refused(db):
    with pytest.raises(CommandError, match="No signing key"):
        run("--retire=no-such-kid")


def test_json_output_and_es256(db):
    data = json.loads(run("--algorithm", "ES256", "--json"))
    assert data["algorithm"] == "ES256"
    assert [k["kid"] for k in data["published"] if k["current"]] == [data["current"]]


def test_es256_signed_tokens_verify_with_the_jwks(server, jwt_service):
    run("--algorithm", "ES256")
    token = new_token(server, jwt_service)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert verifies_with_jwks_alone(server, token)["client_id"] == jwt_service.client_id
    assert accepted_by_tokeninfo(server, token)
