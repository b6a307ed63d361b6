"""Startup checks of the SAML bridge: configuration errors surface at `manage.py check`, not at a request."""

from saml_bridge.checks import saml_bridge_configuration


def ids():
    return [e.id for e in saml_bridge_configuration(None)]


def test_configuration_as_shipped_passes():
    assert ids() == []


def test_missing_xmlsec1_is_reported(settings):
    settings.XMLSEC_BINARY = "/nonexistent/xmlsec1"
    assert ids() == ["saml_bridge.E001"]


def test_nonsensical_clock_skew_and_size_limit_are_reported(settings):
    settings.SAML_CLOCK_SKEW_SECONDS = -5
    settings.SAML_MAX_ASSERTION_BYTES = 10
    assert ids() == ["saml_bridge.E002", "saml_bridge.E003"]
