"""manage.py createroute: put an upstream API behind the gateway without the admin."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from resources.models import GatewayRoute

pytestmark = pytest.mark.django_db


def createroute(*args):
    out = StringIO()
    call_command("createroute", *args, stdout=out)
    return out.getvalue()


def test_creates_a_route_with_scopes_per_method_and_prints_a_summary(scopes, settings):
    out = createroute("--prefix", "photo-api", "--upstream", "http://10.0.0.5:8080/api",
                      "--scope", "GET=photos", "--scope", "POST=photos/write", "--scope", "post=photos")
    route = GatewayRoute.objects.get(prefix="photo-api")
    assert route.upstream_url == "http://10.0.0.5:8080/api"
    assert route.required_scopes == {"GET": ["photos"], "POST": ["photos/write", "photos"]}
    assert route.enabled and route.name == "photo-api"
    assert route.timeout == settings.GATEWAY_DEFAULT_TIMEOUT
    assert "created route photo-api" in out
    assert "/gateway/photo-api/ → http://10.0.0.5:8080/api" in out
    assert "GET     needs photos" in out and "POST    needs photos/write photos" in out


def test_timeout_name_and_a_method_open_to_any_token(scopes):
    createroute("--prefix", "status", "--upstream", "https://status.example.org", "--scope", "GET=",
                "--timeout", "2.5", "--name", "Status page")
    route = GatewayRoute.objects.get(prefix="status")
    assert (route.name, route.timeout, route.required_scopes) == ("Status page", 2.5, {"GET": []})


def test_running_it_again_updates_the_route(scopes):
    createroute("--prefix", "photo-api", "--upstream", "http://old.example/api", "--scope", "GET=photos")
    out = createroute("--prefix", "photo-api", "--upstream", "http://new.example/api", "--scope", "POST=photos/write")
    route = GatewayRoute.objects.get()
    assert route.upstream_url == "http://new.example/api"
    assert route.required_scopes == {"POST": ["photos/write"]}
    assert out.startswith("updated route")


def test_json_output_for_scripts(scopes):
    out = createroute("--prefix", "p", "--upstream", "http://u.example", "--scope", "GET=photos", "--json")
    assert json.loads(out)["required_scopes"] == {"GET": ["photos"]}


@pytest.mark.parametrize("args, message", [
    (["--scope", "GET=no-such-scope"], "Unknown scope"),
    (["--scope", "GET"], "METHOD=SCOPE"),
    (["--scope", "=photos"], "METHOD=SCOPE"),
    (["--scope", "GE T=photos"], "HTTP method"),
    (["--scope", "GET=photos", "--upstream", "ftp://files.example"], "upstream_url"),
    (["--scope", "GET=photos", "--upstream", "http://u.example/api?key=1"], "no query string"),
    (["--scope", "GET=photos", "--prefix", "has/slash"], "prefix"),
    (["--scope", "GET=photos", "--timeout", "0"], "timeout"),
])
def test_invalid_routes_are_refused_with_a_message(scopes, args, message):
    base = {"--prefix": "p", "--upstream": "http://u.example"}
    for flag in ("--prefix", "--upstream"):
        if flag in args:
            base.pop(flag)
    with pytest.raises(CommandError, match=message):
        createroute(*[x for pair in base.items() for x in pair], *args)
    assert not GatewayRoute.objects.exists()
