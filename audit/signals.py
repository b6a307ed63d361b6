"""Sign-in events, from Django's authentication signals and django-axes' lockout signal.

These fire for every django.contrib.auth.authenticate() call made with a request: the login page,
the admin's login page and the token endpoint's password grant (django-oauth-toolkit's validate_user).
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed

from . import Event, record


def _at(request):
    # The token endpoint hands authenticate() a request whose path may carry the query string.
    path = (getattr(request, "path", "") or "").split("?", 1)[0][:200]
    return f" at {path}" if path else ""


def _grant_type(request):
    post = getattr(request, "POST", None)
    grant_type = post.get("grant_type", "") if post is not None else ""
    return "password" if grant_type == "password" else ""


def login_failed(sender, credentials, request=None, **kwargs):
    # A sign-in refused because the user or address is already locked out is recorded by
    # login_locked_out below, not here: django-axes' backend marks the request before refusing
    # (axes_locked_out) without counting a failure (axes_failures_since_start stays None).
    if getattr(request, "axes_locked_out", False) and getattr(request, "axes_failures_since_start", None) is None:
        return
    record(Event.LOGIN_FAILED, request=request, username=(credentials or {}).get("username") or "",
           grant_type=_grant_type(request), detail=f"wrong username or password{_at(request)}")


def login_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    record(Event.LOGIN_LOCKED_OUT, request=request, username=username or "", grant_type=_grant_type(request),
           detail=f"sign-in refused{_at(request)}: too many failed attempts for this user or address")


def login_succeeded(sender, request=None, user=None, **kwargs):
    record(Event.LOGIN_SUCCEEDED, request=request, user=user, detail=f"signed in{_at(request)}")


def connect():
    from axes.signals import user_locked_out

    user_login_failed.connect(login_failed, dispatch_uid="audit.login_failed")
    user_logged_in.connect(login_succeeded, dispatch_uid="audit.login_succeeded")
    user_locked_out.connect(login_locked_out, dispatch_uid="audit.login_locked_out")
