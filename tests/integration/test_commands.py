"""The ops commands: createclient, createscope, createuser, seed_demo."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from oauth_server.models import Client, Scope

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createclient_prints_id_and_one_time_secret_as_json(scopes):
    out = run("createclient", "--name", "svc", "--grant-type", "client_credentials", "--scope", "photos", "--json")
    data = json.loads(out)
    client = Client.objects.get(client_id=data["client_id"])
    assert client.check_secret(data["client_secret"])
    assert client.allowed_grant_types == ["client_credentials"]


def test_createclient_public_has_null_secret(scopes):
    out = run("createclient", "--name", "spa", "--grant-type", "authorization_code", "--redirect-uri",
              "http://127.0.0.1:9/cb", "--scope", "photos", "--public", "--json")
    assert json.loads(out)["client_secret"] is None


def test_createclient_several_grants(scopes):
    data = json.loads(run("createclient", "--name", "app", "--grant-type", "password", "--grant-type", "refresh_token",
                          "--scope", "photos", "--token-endpoint-auth-method", "client_secret_post", "--json"))
    client = Client.objects.get(client_id=data["client_id"])
    assert client.allowed_grant_types == ["password", "refresh_token"]
    assert client.token_endpoint_auth_method == "client_secret_post"


def test_createclient_refuses_unknown_scope_and_missing_redirect(scopes):
    with pytest.raises(CommandError, match="unknown scope"):
        run("createclient", "--name", "x", "--grant-type", "client_credentials", "--scope", "nope")
    with pytest.raises(CommandError, match="redirect URI"):
        run("createclient", "--name", "x", "--grant-type", "authorization_code", "--scope", "photos")


def test_createscope_is_idempotent(db):
    run("createscope", "photos", "--description", "Old")
    run("createscope", "photos", "--description", "View your photos")
    assert list(Scope.objects.values_list("name", "description")) == [("photos", "View your photos")]


def test_createscope_refuses_a_space(db):
    with pytest.raises(CommandError):
        run("createscope", "two words", "--description", "x")


def test_createuser_reads_the_password_from_stdin(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO("correct horse battery\n"))
    run("createuser", "carol", "--email", "carol@example.org", "--password-stdin")
    carol = get_user_model().objects.get(username="carol")
    assert carol.check_password("correct horse battery") and carol.email == "carol@example.org"


def test_seed_demo_refuses_without_debug(db, settings, tmp_path):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run("seed_demo", "--output", str(tmp_path / "demo.json"))


def test_seed_demo_is_idempotent_and_writes_working_credentials(db, settings, tmp_path):
    settings.DEBUG = True
    target = tmp_path / "demo.json"
    run("seed_demo", "--output", str(target))
    first = json.loads(target.read_text())
    run("seed_demo", "--output", str(target))
    second = json.loads(target.read_text())
    assert first == second
    assert Client.objects.filter(client_id__startswith="demo-").count() == len(second["clients"])
    for entry in second["clients"].values():
        client = Client.objects.get(client_id=entry["client_id"])
        assert entry["client_secret"] is None if client.is_public else client.check_secret(entry["client_secret"])
    assert (target.stat().st_mode & 0o077) == 0  # secrets file readable by its owner only


def test_purgeused_forgets_only_what_can_no_longer_matter(backup_service):
    from datetime import timedelta

    from django.utils import timezone

    from oauth_server.models import UsedAuthorizationCode, UsedJTI

    old = UsedAuthorizationCode.objects.create(code_checksum="a" * 64, client=backup_service.model)
    UsedAuthorizationCode.objects.filter(pk=old.pk).update(used_at=timezone.now() - timedelta(days=2))
    UsedAuthorizationCode.objects.create(code_checksum="b" * 64, client=backup_service.model)
    UsedJTI.objects.create(key="k1", expires_at=timezone.now() - timedelta(minutes=1))
    UsedJTI.objects.create(key="k2", expires_at=timezone.now() + timedelta(minutes=5))
    out = run("purgeused")
    assert "purged 1 expired JWT ID(s) and 1 old authorization code record(s)" in out
    assert list(UsedAuthorizationCode.objects.values_list("code_checksum", flat=True)) == ["b" * 64]
    assert list(UsedJTI.objects.values_list("key", flat=True)) == ["k2"]
