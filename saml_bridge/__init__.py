"""The SAML bridge: trusted identity providers and SAML 2.0 bearer assertions (RFC 7522)."""
