"""oauthlib's questions, answered from our models.

django-oauth-toolkit's OAuth2Validator does the storage; we override what differs: several grants
per client, one registered client authentication method (client_secret_basic, client_secret_post,
or private_key_jwt: RFC 7523 §2.2 / RFC 7521 §4.2), our fast secret hash, one-time codes that revoke
their tokens when replayed, PKCE downgrade protection, per-client introspection rights.
"""

import base64
import binascii
import calendar
import logging
import uuid
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import router, transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

import audit

from . import client_secrets
from .constants import CLIENT_ASSERTION_TYPE_JWT_BEARER, ClientAuthMethod, GrantType
from .jwt_assertions import AssertionRejected, Purpose, expected_audiences, unverified_issuer, verify_assertion
from .models import Client, UsedAuthorizationCode, token_checksum
from .rows import insert, insert_together
from .tokens import claim_refresh_token, find_active_access_token, lock_refresh_token

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()

log = logging.getLogger(__name__)


def refresh_token_expires_at(refresh_token):
    lifetime = refresh_token.application.refresh_token_lifetime or settings.REFRESH_TOKEN_EXPIRE_SECONDS
    return refresh_token.created + timedelta(seconds=lifetime)


class RequestValidator(OAuth2Validator):
    # --- client authentication (RFC 6749 §2.3) ---------------------------------------------
    def _auth_methods_used(self, request):
        used = []
        if request.headers.get("Authorization", "").startswith("Basic "):
            used.append(ClientAuthMethod.CLIENT_SECRET_BASIC)
        if getattr(request, "client_secret", None) is not None:
            used.append(ClientAuthMethod.CLIENT_SECRET_POST)
        if self._client_assertion_presented(request):
            used.append(ClientAuthMethod.PRIVATE_KEY_JWT)
        return used

    def _client_assertion_presented(self, request):
        return (getattr(request, "client_assertion", None) is not None
                or getattr(request, "client_assertion_type", None) is not None)

    def client_credentials_presented(self, request):
        """Whether the request carries any client authentication (for grants where it is optional)."""
        return bool(self._auth_methods_used(request))

    def client_authentication_required(self, request, *args, **kwargs):
        if self._client_assertion_presented(request):
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    def _load_application(self, client_id, request):
        # PostgreSQL text cannot hold NUL: such an id names no client (and must not become a 500).
        if not isinstance(client_id, str) or "\x00" in client_id:
            return None
        if oauth2_settings.CIMD_ENABLED:
            return super()._load_application(client_id, request)
        # DOT's rules without its ORM query: reuse the request's client if it is this one and usable.
        client = request.client
        if not (isinstance(client, Client) and client.client_id == client_id):
            client = Client.objects.for_token_endpoint(client_id)
        request.client = client if client is not None and client.is_usable(request) else None
        return request.client

    def _basic_credentials(self, request):
        encoded = request.headers["Authorization"][len("Basic "):].strip()
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None, None
        # RFC 6749 §2.3.1: both are form-urlencoded before being joined.
        return unquote_plus(client_id), unquote_plus(secret)

    def authenticate_client(self, request, *args, **kwargs):
        methods = self._auth_methods_used(request)
        if len(methods) > 1:
            raise errors.InvalidRequestError(
                description="Use exactly one client authentication method per request (RFC 6749 §2.3).",
                request=request,
            )
        if not methods:
            return self._client_auth_failed(request, "no client credentials", client=request.client_id)
        method = methods[0]
        if method == ClientAuthMethod.PRIVATE_KEY_JWT:
            return self._authenticate_private_key_jwt(request)
        if method == ClientAuthMethod.CLIENT_SECRET_BASIC:
            client_id, secret = self._basic_credentials(request)
            if request.client_id is not None and client_id is not None and request.client_id != client_id:
                return self._client_auth_failed(request, "client_id differs from the Basic header's", client=client_id)
        else:
            client_id, secret = request.client_id, request.client_secret
        client = self._load_application(client_id, request) if client_id else None
        if client is None:
            client_secrets.check_client_secret(secret, None)  # same work as a wrong secret
            return self._client_auth_failed(request, "unknown or disabled client", client=client_id)
        if client.token_endpoint_auth_method != method:
            return self._client_auth_failed(request, f"{method} is not the client's registered method", client=client)
        if not client.check_secret(secret):
            return self._client_auth_failed(request, "wrong client secret", client=client)
        request.client_id = client.client_id
        return True

    def _client_auth_failed(self, request, reason, *, client=None):
        """Audit a failed client authentication (client: the Client, or the client_id it claimed); False."""
        path = (getattr(request, "uri", "") or "").split("?", 1)[0]
        audit.record(audit.Event.CLIENT_AUTH_FAILED, request=request, client=client,
                     grant_type=getattr(request, "grant_type", None) or "", detail=f"{reason} at {path}")
        return False

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        if super().authenticate_client_id(client_id, request, *args, **kwargs):
            return True
        return self._client_auth_failed(request, "unknown, disabled or confidential client without credentials",
                                        client=getattr(request, "client", None) or client_id)

    def _authenticate_private_key_jwt(self, request):
        """RFC 7523 §2.2 and §3: the client_assertion is a JWT the client signed (iss = sub = client_id)."""
        if getattr(request, "client_assertion_type", None) != CLIENT_ASSERTION_TYPE_JWT_BEARER:
            self._client_auth_failed(request, "client_assertion_type is not jwt-bearer")
            raise errors.InvalidClientError(
                description=f"client_assertion_type must be {CLIENT_ASSERTION_TYPE_JWT_BEARER} (RFC 7523 §2.2).",
                request=request,
            )
        assertion = getattr(request, "client_assertion", None)
        if not assertion:
            self._client_auth_failed(request, "missing client_assertion")
            raise errors.InvalidClientError(description="Missing client_assertion (RFC 7523 §2.2).", request=request)
        issuer = unverified_issuer(assertion)
        # RFC 7521 §4.2: a client_id sent beside the assertion must name the same client.
        client = None
        if issuer and (request.client_id is None or request.client_id == issuer):
            client = self._load_application(issuer, request)
        if client is not None and client.token_endpoint_auth_method != ClientAuthMethod.PRIVATE_KEY_JWT:
            client = None
        try:
            # With client=None the header rules still run and then the key rule fails: an unknown client
            # and a bad signature get the same answer.
            verify_assertion(assertion, client=client, audiences=expected_audiences(),
                             purpose=Purpose.CLIENT_AUTHENTICATION)
        except AssertionRejected as rejected:
            log.info("client_assertion refused (client %s): %s", client.client_id if client else "unknown",
                     rejected.reason)
            audit.record(audit.Event.ASSERTION_REFUSED, request=request, client=client or issuer,
                         detail=f"private_key_jwt: {rejected.reason}")
            self._client_auth_failed(request, "client assertion refused", client=client or issuer)
            if rejected.key_related:
                return False
            raise errors.InvalidClientError(description=f"client_assertion refused: {rejected.reason}",
                                            request=request) from None
        request.client_id = client.client_id
        return True

    def _check_secret(self, provided_secret, stored_secret):
        return client_secrets.check_client_secret(provided_secret, stored_secret)

    # --- grants, response types, scopes -----------------------------------------------------
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return client.allows_grant_type(grant_type)

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        if response_type == "code":
            return client.allows_grant_type(GrantType.AUTHORIZATION_CODE)
        if response_type == "token":
            return client.allows_grant_type(GrantType.IMPLICIT)
        return False

    def validate_user(self, username, password, client, request, *args, **kwargs):
        # oauthlib checks the password before the grant type: refuse first, or any client could
        # use the token endpoint to guess users' passwords.
        if not client.allows_grant_type(GrantType.PASSWORD):
            raise errors.UnauthorizedClientError(request=request)
        if "\x00" in (username or "") or "\x00" in (password or ""):
            return False
        return super().validate_user(username, password, client, request, *args, **kwargs)

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        # oauthlib ignores a code_challenge_method sent without a code_challenge: so do we, rather than
        # store (or reject, as "plain") a method that applies to nothing.
        if request.code_challenge is None:
            request.code_challenge_method = None
        super().save_authorization_code(client_id, code, request, *args, **kwargs)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not scopes:
            raise errors.InvalidScopeError(
                description="No scope requested and the client has no default scopes.", request=request
            )
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    # --- authorization codes: one-time, bound to client, redirect URI and PKCE -------------------
    def is_pkce_required(self, client_id, request):
        # RFC 9700 §2.1.1: PKCE is required of public clients and honoured for confidential ones.
        return request.client is None or request.client.is_public

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = Grant.objects.select_related("user").filter(code=code, application=client).first()
        if grant is None:
            self._revoke_tokens_of_replayed_code(code, client, request)
            return False
        # Claim the code: of concurrent exchanges, exactly one DELETE removes the row.
        claimed, _ = Grant.objects.filter(pk=grant.pk).delete()
        if not claimed:
            return False
        request.used_code = UsedAuthorizationCode.objects.create(code_checksum=token_checksum(code), client=client)
        request.exchanged_grant = grant
        if grant.is_expired():
            return False
        # RFC 9700 §4.8.2: a code_verifier for a code issued without a challenge is a downgrade.
        if not grant.code_challenge and request.code_verifier is not None:
            return False
        request.scopes = grant.scope.split()
        request.user = grant.user
        return True

    def _revoke_tokens_of_replayed_code(self, code, client, request=None):
        # RFC 6749 §4.1.2: a code used twice SHOULD revoke the tokens issued from it.
        used = UsedAuthorizationCode.objects.filter(code_checksum=token_checksum(code), client=client).first()
        if used is not None:
            issued = AccessToken.objects.select_related("user").filter(pk=used.access_token_id).first()
            used.revoke_issued_tokens()
            audit.record(audit.Event.CODE_REUSE_DETECTED, request=request, client=client,
                         user=issued.user if issued else None, grant_type="authorization_code",
                         detail="authorization code presented again: the tokens issued from it were revoked")

    def get_code_challenge(self, code, request):
        return request.exchanged_grant.code_challenge or None

    def get_code_challenge_method(self, code, request):
        return request.exchanged_grant.code_challenge_method or None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        # RFC 6749 §4.1.3: identical to the authorization request's, compared as strings (RFC 9700 §4.1.3).
        return redirect_uri == request.exchanged_grant.redirect_uri

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        """Never guess: authorization and token requests must name their redirect URI (as OAuth 2.1 does)."""
        raise errors.MissingRedirectURIError(request=request)

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        return request.exchanged_grant.scope.split()

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """Nothing left to do: validate_code consumed the code before any token was made."""

    # --- tokens -----------------------------------------------------------------------------------
    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        # DOT's, with the INSERT compiled once (rows.insert); remembered for the used-code record and audit.
        request.issued_access_token = insert(self._new_access_token(expires, request, token, source_refresh_token))
        return request.issued_access_token

    def _new_access_token(self, expires, request, token, source_refresh_token=None):
        """The AccessToken row DOT would store for `token` (not yet saved)."""
        id_token = self._load_id_token(token["id_token"]) if token.get("id_token") else None
        access_token = AccessToken(
            user=request.user, scope=token["scope"], expires=expires, id_token=id_token, application=request.client,
            source_refresh_token=source_refresh_token, resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(access_token, token["access_token"])
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = RefreshToken(
            user=request.user, application=request.client, access_token=access_token,
            token_family=previous_refresh_token.token_family if previous_refresh_token else uuid.uuid4(),
            resource=getattr(request, "resource", []),
        )
        self._set_token_value(refresh_token, refresh_token_code)
        request.issued_refresh_token = insert(refresh_token)
        return refresh_token

    def save_bearer_token(self, token, request, *args, **kwargs):
        """DOT's, except for a lone access token (client credentials, the assertion grants, a password grant
        without refresh): that row and its audit row are written by one statement, atomic by itself, which
        spares the transaction's BEGIN and COMMIT round trips. What is stored is what DOT would store."""
        if (token.get("refresh_token") or token.get("id_token") or "scope" not in token
                or getattr(request, "used_code", None) is not None):
            # DOT's transaction, without a savepoint inside TokenView's refresh transaction (two round trips):
            # a failure here fails the whole refresh, which has written nothing else to keep.
            with transaction.atomic(using=router.db_for_write(AccessToken), savepoint=False):
                return self._save_bearer_token(token, request, *args, **kwargs)
        self._check_and_set_request_resource(request)  # RFC 8707: may refuse with invalid_target
        expires = _expiry(token, timezone.now())
        if request.grant_type == "client_credentials":
            request.user = None  # as DOT: the token has no resource owner
        access_token, event = insert_together(self._new_access_token(expires, request, token),
                                              self._token_event(token, request))
        request.issued_access_token = access_token
        audit.log_when_committed(event)

    def _save_bearer_token(self, token, request, *args, **kwargs):
        event = self._rotate_refresh_token(token, request)  # the audit row, written with the new pair
        if event is None:
            super()._save_bearer_token(token, request, *args, **kwargs)
        used_code = getattr(request, "used_code", None)
        if used_code is not None:
            access_token = getattr(request, "issued_access_token", None)
            refresh_token = getattr(request, "issued_refresh_token", None)
            used_code.access_token_id = access_token.pk if access_token else None
            used_code.token_family = refresh_token.token_family if refresh_token else None
            used_code.save(update_fields=["access_token_id", "token_family"])
        if event is None:
            # Audit: one INSERT, in DOT's transaction; client, user and scopes are already loaded.
            event = insert(self._token_event(token, request))
        audit.log_when_committed(event)

    @staticmethod
    def _token_event(token, request):
        """The audit row of the token being saved (not yet inserted)."""
        grant_type = request.grant_type or ("implicit" if getattr(request, "response_type", None) == "token" else "")
        return audit.event_row(audit.Event.TOKEN_REFRESHED if grant_type == "refresh_token" else audit.Event.TOKEN_ISSUED,
                               request=request, client=request.client, user=request.user, grant_type=grant_type,
                               scopes=token.get("scope", ""))

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        """DOT's refresh token checks (reuse detection, idle expiry) on one row, read locked with its user,
        client and access token in one query, plus ours: an active user, the client's refresh token lifetime.

        TokenView runs refreshes in a transaction: a concurrent request with the same token waits on the
        row lock, then finds the token rotated (revoked) and is treated as reuse.
        """
        rt = lock_refresh_token(refresh_token)
        if rt is None:
            return False
        if rt.revoked is not None:
            # RFC 9700 §4.14.2: a rotated or revoked token came back. DOT's rule: only within its grace
            # period, and only if it was superseded (rotated), may it be answered; else the family goes.
            grace = timedelta(seconds=oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS)
            grace_expired = rt.revoked <= timezone.now() - grace
            if grace_expired or not AccessToken.objects.filter(source_refresh_token=rt).exists():
                if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION and rt.token_family:
                    RefreshToken.revoke_family(rt.token_family)
                self._audit_refresh_reuse(rt, client, request)
                return False
        else:
            # A live refresh token always has its access token; its idle expiry slides with it (DOT).
            if rt.access_token is None:
                return False
            idle = refresh_token_expire_timedelta()
            if idle and rt.access_token.expires + idle <= timezone.now():
                return False
        request.user = rt.user
        request.refresh_token = refresh_token  # the presented value: the stored column is blank (RFC 9700)
        request.refresh_token_instance = rt  # for get_original_scopes and save_bearer_token
        if rt.application_id != client.pk or not rt.user.is_active:
            return False  # another client's token; no new tokens for a deactivated resource owner
        return refresh_token_expires_at(rt) > timezone.now()

    def _audit_refresh_reuse(self, rt, client, request):
        audit.record(audit.Event.REFRESH_REUSE_DETECTED, request=request, client=client, user=rt.user,
                     grant_type="refresh_token",
                     detail="a revoked or rotated refresh token was presented: its token family was revoked"
                            + ("" if rt.application_id == client.pk else " (the token is another client's)"))

    def _rotate_refresh_token(self, token, request):
        """RFC 6749 §6 rotation of the refresh token validate_refresh_token locked: claim it (revoked, no
        access token) and delete its access token (one statement: tokens.claim_refresh_token), then write
        the new access token with the audit row (one statement) and the new refresh token. DOT does the
        same in three times the statements (re-locking and re-reading the rows). Returns the saved audit
        row, or None to leave anything else (not a rotating refresh) to DOT's _save_bearer_token."""
        rt = getattr(request, "refresh_token_instance", None)
        if (request.grant_type != "refresh_token" or not token.get("refresh_token") or "scope" not in token
                or not self.rotate_refresh_token(request) or not isinstance(rt, RefreshToken)
                or rt.revoked is not None):
            return None
        self._check_and_set_request_resource(request)  # RFC 8707: may refuse with invalid_target
        now = timezone.now()
        if not claim_refresh_token(rt, now):  # revoked, detached, its access token deleted
            # Another request rotated it first. Unreachable under TokenView's row lock (PostgreSQL); without
            # one, refuse rather than hand out the winner's pair (DOT's fallback).
            raise errors.InvalidGrantError(description="The refresh token was used by another request.",
                                           request=request)
        rt.revoked, rt.access_token = now, None
        access_token, event = insert_together(self._new_access_token(_expiry(token, now), request, token, rt),
                                              self._token_event(token, request))
        request.issued_access_token = access_token
        self._create_refresh_token(request, token["refresh_token"], access_token, rt)
        request.refresh_token_instance = None
        return event

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        found = self._revocable_token(token, request)
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if found is not None:
            kind, user, scope = found
            audit.record(audit.Event.TOKEN_REVOKED, request=request, client=request.client, user=user, scopes=scope,
                         detail=f"{kind} revoked by its client (RFC 7009)")

    def _revocable_token(self, token, request):
        """(kind, user, scope) of the live token of the calling client that revoke_token will revoke, or None."""
        client_pk = getattr(request.client, "pk", None)
        if client_pk is None:
            return None
        checksum = token_checksum(token)
        at = (AccessToken.objects.select_related("user")
              .filter(token_checksum=checksum, application_id=client_pk).first())
        if at is not None:
            return "access token", at.user, at.scope
        rt = (RefreshToken.objects.select_related("user", "access_token")
              .filter(token_checksum=checksum, application_id=client_pk, revoked__isnull=True).first())
        if rt is not None:
            return "refresh token", rt.user, rt.access_token.scope if rt.access_token else ""
        return None

    # --- introspection (RFC 7662) -----------------------------------------------------------------
    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        lookups = [self._introspect_access_token, self._introspect_refresh_token]
        if token_type_hint == "refresh_token":
            lookups.reverse()
        for lookup in lookups:
            found = lookup(token)
            if found is not None:
                client, claims = found
                if not self._may_introspect(request.client, client):
                    return None
                return claims
        return None

    def _may_introspect(self, caller, token_client):
        # RFC 7662 §2.1: introspection needs an authenticated caller; public clients have no secret.
        if caller.is_public:
            return False
        return caller.pk == token_client.pk or caller.may_introspect_any_token

    def _introspect_access_token(self, token):
        at = find_active_access_token(token)
        if at is None:
            return None
        return at.application, token_claims(at.application, at.user, at.scope, at.created, at.expires, "Bearer")

    def _introspect_refresh_token(self, token):
        rt = (
            RefreshToken.objects.select_related("user", "application", "access_token")
            .filter(token_checksum=token_checksum(token), revoked__isnull=True)
            .first()
        )
        # A refresh token whose access token is gone was revoked with it (DOT's rule).
        if rt is None or rt.access_token is None or not rt.application.enabled or not rt.user.is_active:
            return None
        expires = refresh_token_expires_at(rt)
        if expires <= timezone.now():
            return None
        return rt.application, token_claims(rt.application, rt.user, rt.access_token.scope, rt.created, expires, "refresh_token")


def _expiry(token, now):
    """When the access token of an oauthlib token dict expires (DOT's rule: its expires_in, else the setting)."""
    return now + timedelta(seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS))


def token_claims(client, user, scope, issued, expires, token_type):
    """The RFC 7662 §2.2 description of a token."""
    claims = {
        "scope": scope,
        "client_id": client.client_id,
        "token_type": token_type,
        "exp": calendar.timegm(expires.utctimetuple()),
        "iat": calendar.timegm(issued.utctimetuple()),
        "iss": settings.OAUTH_ISSUER,
    }
    if user is not None:
        claims["username"] = user.get_username()
        claims["sub"] = user.subject
    else:
        claims["sub"] = client.client_id
    return claims
