"""Sample client applications, one per OAuth flow. Run `python -m samples --list`."""
