from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A resource owner. Our own model from day one, so fields can be added without a swap later."""

    @property
    def subject(self):
        """The stable `sub` identifier shown to clients (never reused, unlike usernames)."""
        return str(self.pk)

    def userinfo(self):
        """What /api/userinfo tells a client with the userinfo/readonly scope (documented by UserInfoSerializer)."""
        return {"sub": self.subject, "username": self.get_username(), "email": self.email,
                "name": self.get_full_name()}
