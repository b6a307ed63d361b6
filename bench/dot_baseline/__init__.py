"""Plain django-oauth-toolkit, as a user would set it up, for the comparison of issue 7 (see ../README.md)."""
