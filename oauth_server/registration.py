"""Registering clients and scopes: the one place the ops commands and seed_demo go through."""

from django.db import transaction

from .constants import ClientAuthMethod
from .models import Client, Scope


def scope_ensure(*, name, description):
    """Create the scope, or update its description. Idempotent."""
    scope, created = Scope.objects.get_or_create(name=name, defaults={"description": description})
    if not created and description and scope.description != description:
        scope.description = description
        scope.save(update_fields=["description"])
    return scope, created


def client_register(*, name, grant_types, redirect_uris=(), scopes=(), default_scopes=None, public=False,
                    auth_method=None, client_id=None, **fields):
    """Create a validated client. Returns (client, secret).

    `secret` is None for a public client and for a private_key_jwt client, which authenticates with
    its keys. Other model fields pass through `fields`: jwks (a JWKS dict), jwks_uri, certificate (PEM),
    access_token_format ("opaque" or "jwt"), access_token_lifetime, may_introspect_any_token, ...
    """
    if auth_method is None:
        auth_method = ClientAuthMethod.NONE if public else ClientAuthMethod.CLIENT_SECRET_BASIC
    client = Client(
        name=name,
        client_type=Client.CLIENT_PUBLIC if public else Client.CLIENT_CONFIDENTIAL,
        allowed_grant_types=list(dict.fromkeys(grant_types)),
        redirect_uris=" ".join(redirect_uris),
        token_endpoint_auth_method=auth_method,
        **fields,
    )
    if client_id:
        client.client_id = client_id
    secret = client.set_new_secret() if client.uses_secret else None
    allowed = _registered_scopes(scopes)
    defaults = allowed if default_scopes is None else _registered_scopes(default_scopes)
    if not {s.name for s in defaults} <= {s.name for s in allowed}:
        raise ValueError("default scopes must be among the allowed scopes")
    client.full_clean(exclude=["client_secret"])
    with transaction.atomic():
        client.save()
        client.allowed_scopes.set(allowed)
        client.default_scopes.set(defaults)
    return client, secret


def _registered_scopes(names):
    names = list(dict.fromkeys(names))
    found = list(Scope.objects.filter(name__in=names))
    missing = set(names) - {s.name for s in found}
    if missing:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(missing))} (create them with manage.py createscope)")
    return found
