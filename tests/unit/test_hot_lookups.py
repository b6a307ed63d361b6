"""The hand-compiled lookups of the hot paths (oauth_server/rows.py) give what the ORM gives."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone
from oauth2_provider.models import AccessToken

from oauth_server.models import Client, token_checksum
from oauth_server.tokens import find_active_access_token


def _token(client, user, raw="opaque-token-for-lookups", scope="photos", lifetime=timedelta(hours=1)):
    return AccessToken.objects.create(application=client, user=user, token="", token_checksum=token_checksum(raw),
                                      scope=scope, expires=timezone.now() + lifetime)


def test_token_endpoint_client_is_the_stored_client_with_its_allowed_scopes(backup_service):
    loaded = Client.objects.for_token_endpoint(backup_service.client_id)
    stored = Client.objects.get(pk=backup_service.model.pk)
    assert model_to_dict(loaded) == model_to_dict(stored)  # every column, JSON fields decoded alike
    assert loaded.allowed_scope_names() == {"photos"}


def test_a_client_allowed_no_scopes_loads_with_none(make_client):
    bare = make_client("Bare", scopes=())
    assert Client.objects.for_token_endpoint(bare.client_id).allowed_scope_names() == set()


def test_unknown_client_id_is_none(db):
    assert Client.objects.for_token_endpoint("no-such-client") is None


def test_changing_allowed_scopes_through_an_instance_is_seen_at_once(backup_service, scopes):
    client = Client.objects.for_token_endpoint(backup_service.client_id)
    client.allowed_scopes.add(scopes["userinfo/readonly"])
    assert client.allowed_scope_names() == {"photos", "userinfo/readonly"}


def test_token_lookup_brings_the_whole_user_and_the_client(backup_service, alice):
    stored = _token(backup_service.model, alice)
    found = find_active_access_token("opaque-token-for-lookups")
    assert found.pk == stored.pk and found.scope == "photos" and found.expires == stored.expires
    assert model_to_dict(found.user) == model_to_dict(alice)
    assert found.application.client_id == backup_service.client_id
    # Columns the lookup does not select load on access, as with .only().
    assert found.application.redirect_uris == backup_service.model.redirect_uris


def test_client_credentials_token_has_no_user(backup_service):
    _token(backup_service.model, None)
    assert find_active_access_token("opaque-token-for-lookups").user is None


@pytest.mark.parametrize("change", ["expired", "client disabled", "user deactivated", "deleted"])
def test_token_lookup_refuses_what_the_rules_refuse(backup_service, alice, change):
    stored = _token(backup_service.model, alice)
    if change == "expired":
        AccessToken.objects.filter(pk=stored.pk).update(expires=timezone.now() - timedelta(seconds=1))
    elif change == "client disabled":
        Client.objects.filter(pk=backup_service.model.pk).update(enabled=False)
    elif change == "user deactivated":
        type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    else:
        stored.delete()
    assert find_active_access_token("opaque-token-for-lookups") is None


# --- single use by one INSERT ... ON CONFLICT (oauth_server.rows.insert_once) ---------------------------
def _epoch(delta):
    return int((timezone.now() + delta).timestamp())


def test_a_jti_is_claimed_once(db):
    from oauth_server.models import UsedJTI

    assert UsedJTI.objects.claim("partner", "jti-1", _epoch(timedelta(minutes=5))) is True
    assert UsedJTI.objects.claim("partner", "jti-1", _epoch(timedelta(minutes=5))) is False
    assert UsedJTI.objects.claim("other-issuer", "jti-1", _epoch(timedelta(minutes=5))) is True


def test_the_jti_of_an_expired_assertion_may_be_used_again_and_is_then_held_anew(db):
    from oauth_server.models import UsedJTI, jti_key

    UsedJTI.objects.create(key=jti_key("partner", "jti-2"), expires_at=timezone.now() - timedelta(seconds=1))
    later = _epoch(timedelta(minutes=5))
    assert UsedJTI.objects.claim("partner", "jti-2", later) is True
    assert UsedJTI.objects.get(key=jti_key("partner", "jti-2")).expires_at.timestamp() == later
    assert UsedJTI.objects.claim("partner", "jti-2", later) is False


def test_claiming_inside_a_transaction_leaves_it_usable(db):
    from django.db import transaction

    from oauth_server.models import UsedJTI, jti_key

    with transaction.atomic():
        UsedJTI.objects.claim("partner", "jti-3", _epoch(timedelta(minutes=5)))
        assert UsedJTI.objects.claim("partner", "jti-3", _epoch(timedelta(minutes=5))) is False
        # A refused claim raised nothing: the transaction goes on (no "current transaction is aborted").
        assert UsedJTI.objects.filter(key=jti_key("partner", "jti-3")).count() == 1


# --- INSERT compiled once (oauth_server.rows.insert) ------------------------------------------------
def test_insert_stores_what_save_would_store(backup_service, alice):
    from oauth_server.rows import insert

    token = AccessToken(application=backup_service.model, user=alice, scope="photos",
                        expires=timezone.now() + timedelta(hours=1))
    token._raw_token, token.token = "raw-value-never-stored", ""  # DOT's RFC 9700 redacted storage
    insert(token)
    stored = AccessToken.objects.get(pk=token.pk)
    assert stored.token == "" and stored.token_checksum == token_checksum("raw-value-never-stored")
    assert stored.created is not None and stored.updated is not None  # auto_now_add / auto_now ran
    assert not token._state.adding
    assert find_active_access_token("raw-value-never-stored").pk == token.pk


def test_insert_goes_through_save_when_someone_listens_for_it(db):
    from django.db.models.signals import post_save

    import audit
    from audit.models import AuditEvent

    heard = []

    def listener(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    post_save.connect(listener, sender=AuditEvent)
    try:
        row = audit.record(audit.Event.TOKEN_REVOKED, client="some-client", detail="test")
    finally:
        post_save.disconnect(listener, sender=AuditEvent)
    assert heard == [(row.pk, True)]


# --- several rows in one statement (oauth_server.rows.insert_together) -----------------------------
def _new_token(client, raw):
    token = AccessToken(application=client, scope="photos", expires=timezone.now() + timedelta(hours=1))
    token._raw_token, token.token = raw, ""
    return token


def test_insert_together_stores_every_row_and_gives_each_its_key(backup_service):
    import audit
    from oauth_server.rows import insert_together

    event = audit.event_row(audit.Event.TOKEN_ISSUED, client=backup_service.model, grant_type="client_credentials")
    token, saved_event = insert_together(_new_token(backup_service.model, "raw-together"), event)
    assert saved_event is event and event.pk is not None and not event._state.adding
    assert find_active_access_token("raw-together").pk == token.pk
    assert type(event).objects.get(pk=event.pk).oauth_client_id == backup_service.client_id


@pytest.mark.django_db(transaction=True)  # no surrounding transaction: the statement must be all-or-none itself
def test_insert_together_writes_all_or_none(backup_service):
    import audit
    from audit.models import AuditEvent
    from django.db import IntegrityError
    from oauth_server.rows import insert_together

    insert_together(_new_token(backup_service.model, "taken"))
    event = audit.event_row(audit.Event.TOKEN_ISSUED, client=backup_service.model, grant_type="client_credentials")
    with pytest.raises(IntegrityError):  # the second token's checksum is already stored
        insert_together(event, _new_token(backup_service.model, "taken"))
    assert not AuditEvent.objects.exists()  # the first row went with the second


# --- the refresh grant's locked lookup (oauth_server.tokens.lock_refresh_token) -------------------
def test_refresh_token_lookup_reads_what_the_orm_reads(backup_service, alice):
    from oauth2_provider.models import RefreshToken

    from oauth_server.tokens import lock_refresh_token

    access = _token(backup_service.model, alice)
    stored = RefreshToken.objects.create(application=backup_service.model, user=alice, access_token=access,
                                         token="", token_checksum=token_checksum("raw-refresh"))
    found = lock_refresh_token("raw-refresh")
    assert model_to_dict(found) == model_to_dict(RefreshToken.objects.get(pk=stored.pk))
    assert model_to_dict(found.user) == model_to_dict(alice)
    assert model_to_dict(found.application) == model_to_dict(backup_service.model)
    assert model_to_dict(found.access_token) == model_to_dict(AccessToken.objects.get(pk=access.pk))
    assert (found.created, found.updated) == (stored.created, stored.updated)  # not editable: not in model_to_dict
    assert lock_refresh_token("unknown-refresh") is None


@pytest.mark.django_db(transaction=True)
def test_the_refresh_token_lock_needs_a_transaction(backup_service):
    from django.db import connection
    from django.db.transaction import TransactionManagementError

    from oauth_server.tokens import lock_refresh_token

    if not connection.features.has_select_for_update:
        pytest.skip("this database has no row locks (SQLite): nothing to hold")
    with pytest.raises(TransactionManagementError):
        lock_refresh_token("any-refresh")


def test_a_refresh_token_without_its_access_token_still_loads(backup_service, alice):
    from oauth2_provider.models import RefreshToken

    from oauth_server.tokens import lock_refresh_token

    RefreshToken.objects.create(application=backup_service.model, user=alice, token="",
                                token_checksum=token_checksum("rotated-refresh"), revoked=timezone.now())
    found = lock_refresh_token("rotated-refresh")
    assert found.access_token is None and found.revoked is not None


# --- the SAML grant's identity provider and user lookups --------------------------------------------
def test_trusted_idp_comes_with_its_allow_list_in_one_query(acme_idp, backup_service, photo_printer,
                                                            django_assert_num_queries):
    from saml_bridge.models import TrustedIdentityProvider

    entity_id = acme_idp.model.entity_id
    with django_assert_num_queries(1):
        loaded = TrustedIdentityProvider.objects.enabled_with_allowed_clients(entity_id)
        assert loaded.allows_client(backup_service.model)  # an empty allow-list: any client
    assert model_to_dict(loaded) == model_to_dict(TrustedIdentityProvider.objects.get(pk=acme_idp.model.pk))

    loaded.allowed_clients.set([photo_printer.model])  # through the loaded instance: its copy is forgotten
    assert loaded.allows_client(photo_printer.model) and not loaded.allows_client(backup_service.model)
    loaded = TrustedIdentityProvider.objects.enabled_with_allowed_clients(entity_id)
    assert loaded.allows_client(photo_printer.model) and not loaded.allows_client(backup_service.model)

    TrustedIdentityProvider.objects.filter(pk=acme_idp.model.pk).update(enabled=False)
    assert TrustedIdentityProvider.objects.enabled_with_allowed_clients(entity_id) is None


def test_user_by_username_is_exact(alice):
    from accounts.lookups import find_user_by_username

    assert model_to_dict(find_user_by_username("alice")) == model_to_dict(alice)
    assert find_user_by_username("ALICE") is None and find_user_by_username("alic") is None


def test_insert_together_refuses_rows_that_refer_to_each_other(backup_service, alice):
    from oauth2_provider.models import RefreshToken

    from oauth_server.rows import insert_together

    access = _new_token(backup_service.model, "raw-access")
    refresh = RefreshToken(application=backup_service.model, user=alice, access_token=access)
    refresh._raw_token, refresh.token = "raw-refresh-pair", ""
    with pytest.raises(ValueError, match="unsaved related object 'access_token'"):
        insert_together(access, refresh)
    assert not RefreshToken.objects.exists()


# --- rotation's claim (oauth_server.tokens.claim_refresh_token) --------------------------------------
def _refresh_pair(client, user, raw):
    from oauth2_provider.models import RefreshToken

    access = _token(client, user, raw=f"{raw}-access")
    return RefreshToken.objects.create(application=client, user=user, access_token=access, token="",
                                       token_checksum=token_checksum(raw)), access


@pytest.mark.parametrize("delete_listener", [False, True])
def test_a_refresh_token_is_claimed_once_and_its_access_token_goes(backup_service, alice, delete_listener):
    from django.db.models.signals import post_delete
    from oauth2_provider.models import RefreshToken

    from oauth_server.tokens import claim_refresh_token

    refresh, access = _refresh_pair(backup_service.model, alice, "to-rotate")
    deleted = []

    def listener(sender, instance, **kwargs):
        deleted.append(instance.pk)

    if delete_listener:  # the statement gives way to the ORM, so that receivers see the deleted row
        post_delete.connect(listener, sender=AccessToken)
    try:
        now = timezone.now()
        assert claim_refresh_token(refresh, now) is True
        assert claim_refresh_token(refresh, now) is False  # already revoked: a second request loses
    finally:
        post_delete.disconnect(listener, sender=AccessToken)
    stored = RefreshToken.objects.get(pk=refresh.pk)
    assert stored.revoked == now and stored.access_token_id is None
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    assert deleted == ([access.pk] if delete_listener else [])
