"""Resource owners looked up on the assertion grants' hot path (JWT-bearer `sub`, SAML subject)."""

from django.contrib.auth import get_user_model

from oauth_server.rows import Columns, RowQuery


def _user_by_username_query():
    User = get_user_model()
    user = Columns(User, "u")
    return [user], f"SELECT {user.select_list()} FROM {user.table_as_alias()} WHERE {user.column(User.USERNAME_FIELD)} = %s"


USER_BY_USERNAME = RowQuery(_user_by_username_query)


def find_user_by_username(username):
    """The user whose USERNAME_FIELD is exactly `username` (unique), or None: the ORM's
    `filter(username=...).first()`, by SQL compiled once per connection (oauth_server/rows.py)."""
    if "\x00" in username:
        return None  # no username has one, and PostgreSQL refuses NUL in text outright (a DataError)
    found = USER_BY_USERNAME.fetch_one([username])
    return found[0] if found else None
