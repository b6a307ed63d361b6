"""Resource owners' pages: the lockout notice, and the applications connected to their account."""

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max, Min
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from oauth_server.models import Client, Consent, Scope, consent_revoke


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE: the sign-in page says how long the lockout lasts (HTTP 429)."""
    from axes.handlers.proxy import AxesProxyHandler

    handler = AxesProxyHandler.get_implementation()
    remaining = None
    if hasattr(handler, "time_until_unlocked"):
        remaining = handler.time_until_unlocked(request, credentials)
    if remaining is None:
        minutes = settings.LOGIN_LOCKOUT_MINUTES
    else:
        minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    response = render(request, "registration/lockout.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    response["Cache-Control"] = "no-store"
    return response


def _scope_rows(names, descriptions):
    return [(name, descriptions.get(name, name)) for name in names]


def connected_clients(user):
    """The clients that may act for `user`: those with a stored consent, then those holding live tokens.

    Each is a dict: client, scopes (names), since (first authorized), last (last authorized or used),
    consented (False: tokens from a grant without a consent page, e.g. password or an assertion).
    """
    now = timezone.now()
    rows = {}
    for consent in Consent.objects.filter(user=user).select_related("client").order_by("-updated"):
        rows[consent.client_id] = {"client": consent.client, "scopes": sorted(consent.scope_set),
                                   "since": consent.created, "last": consent.updated, "consented": True}
    AccessToken = get_access_token_model()
    RefreshToken = get_refresh_token_model()
    live = {}
    for client_pk, scope, created in AccessToken.objects.filter(user=user, expires__gt=now).exclude(
            application_id__in=rows).values_list("application_id", "scope", "created"):
        entry = live.setdefault(client_pk, {"scopes": set(), "since": created, "last": created})
        entry["scopes"].update(scope.split())
        entry["since"], entry["last"] = min(entry["since"], created), max(entry["last"], created)
    refresh = (RefreshToken.objects.filter(user=user, revoked__isnull=True, access_token__isnull=False)
               .exclude(application_id__in=rows)
               .values("application_id").annotate(first=Min("created"), last=Max("created")))
    for item in refresh:
        entry = live.setdefault(item["application_id"], {"scopes": set(), "since": item["first"], "last": item["last"]})
        entry["since"], entry["last"] = min(entry["since"], item["first"]), max(entry["last"], item["last"])
    for client in Client.objects.filter(pk__in=live):
        entry = live[client.pk]
        rows[client.pk] = {"client": client, "scopes": sorted(entry["scopes"]), "since": entry["since"],
                           "last": entry["last"], "consented": False}
    return list(rows.values())


@login_required
def connected_apps(request):
    apps = connected_clients(request.user)
    names = {name for app in apps for name in app["scopes"]}
    descriptions = dict(Scope.objects.filter(name__in=names).values_list("name", "description"))
    for app in apps:
        app["scope_rows"] = _scope_rows(app["scopes"], descriptions)
    response = render(request, "accounts/connected_apps.html", {"apps": apps})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke_access(request):
    client = Client.objects.filter(client_id=request.POST.get("client_id", "")).first()
    if client is None:
        messages.error(request, "That application is not connected to your account.")
        return redirect("connected-apps")
    revoked = consent_revoke(user=request.user, client=client, request=request)
    if revoked.anything:
        messages.success(request, f"{client.name} can no longer access your account. It will have to ask "
                                  f"for your permission again.")
    else:
        messages.info(request, f"{client.name} had no access to your account.")
    return redirect("connected-apps")
