from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A resource owner. Our own model from day one, so fields can be added without a swap later."""

    @property
    def subject(self):
        """The stable `sub` identifier shown to clients (never reused, unlike usernames)."""
        return str(self.pk)
