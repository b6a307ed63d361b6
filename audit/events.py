"""The kinds of security events the audit trail records."""

from django.db import models


class Event(models.TextChoices):
    TOKEN_ISSUED = "token_issued", "token issued"
    TOKEN_REFRESHED = "token_refreshed", "token refreshed"
    TOKEN_REVOKED = "token_revoked", "token revoked"
    REFRESH_REUSE_DETECTED = "refresh_reuse_detected", "refresh token reuse detected"
    CODE_REUSE_DETECTED = "code_reuse_detected", "authorization code reuse detected"
    CONSENT_GRANTED = "consent_granted", "consent granted"
    CONSENT_REVOKED = "consent_revoked", "consent revoked"
    CLIENT_AUTH_FAILED = "client_auth_failed", "client authentication failed"
    ASSERTION_REFUSED = "assertion_refused", "assertion refused"
    LOGIN_SUCCEEDED = "login_succeeded", "login succeeded"
    LOGIN_FAILED = "login_failed", "login failed"
    LOGIN_LOCKED_OUT = "login_locked_out", "login locked out"
    CLIENT_CREATED = "client_created", "client created"
    CLIENT_CHANGED = "client_changed", "client changed"
