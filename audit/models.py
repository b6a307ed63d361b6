from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .events import Event


class AuditEventQuerySet(models.QuerySet):
    def older_than(self, days):
        """The events recorded more than `days` days ago: past the retention period (AUDIT_RETENTION_DAYS)."""
        return self.filter(time__lt=timezone.now() - timedelta(days=days))


class AuditEvent(models.Model):
    """One security event. Written once by audit.record(), never changed; holds no token, secret or assertion.

    The client and the user are kept twice: as foreign keys (links in admin; set to NULL when the client
    or user is deleted) and as text (client_id, username), so the trail still names them afterwards and
    can name a client or user that does not exist (a failed authentication with an unknown client_id).
    """

    Type = Event
    objects = AuditEventQuerySet.as_manager()

    time = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.CharField(max_length=40, choices=Event.choices)
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # Not "client_id": that is the attribute of the foreign key above.
    oauth_client_id = models.CharField("client_id", max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    grant_type = models.CharField(max_length=100, blank=True)
    scopes = models.CharField(max_length=500, blank=True)
    detail = models.CharField(max_length=500, blank=True,
                              help_text="What happened, e.g. the assertion rule that failed.")

    class Meta:
        ordering = ["-time"]
        verbose_name = "audit event"
        indexes = [
            models.Index(fields=["event", "-time"], name="audit_event_time"),
            models.Index(fields=["oauth_client_id", "-time"], name="audit_client_time"),
            models.Index(fields=["username", "-time"], name="audit_username_time"),
            models.Index(fields=["ip", "-time"], name="audit_ip_time"),
        ]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.event} {self.oauth_client_id or '-'} {self.username or '-'}"

    def as_log(self):
        """The JSON log line's fields: the same as the row's."""
        return {
            "time": self.time.isoformat(),
            "event": self.event,
            "client_id": self.oauth_client_id or None,
            "username": self.username or None,
            "user_id": self.user_id,
            "ip": self.ip,
            "grant_type": self.grant_type or None,
            "scopes": self.scopes or None,
            "detail": self.detail or None,
        }
