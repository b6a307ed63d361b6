"""Startup checks: a missing xmlsec1 or a nonsensical limit is a configuration error, not a 500 later."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from . import registry, xml_signatures


@register()
def saml_bridge_configuration(app_configs, **kwargs):
    errors = []
    if not registry.xmlsec_binary():
        errors.append(Error(
            "xmlsec1 was not found: SAML assertion signatures cannot be verified.",
            hint="Install it (Debian/Ubuntu: apt-get install xmlsec1) or set XMLSEC_BINARY to its path.",
            id="saml_bridge.E001",
        ))
    if xml_signatures.xmlsec is None:
        errors.append(Warning(
            f"python-xmlsec cannot be loaded ({xml_signatures.IMPORT_ERROR}): SAML signatures are checked by"
            " running the xmlsec1 program, about ten times slower.",
            hint="pip install 'xmlsec>=1.3.14' built against the same libxml2 as lxml.",
            id="saml_bridge.W001",
        ))
    skew = getattr(settings, "SAML_CLOCK_SKEW_SECONDS", 60)
    if not 0 <= skew <= 600:
        errors.append(Error(
            "SAML_CLOCK_SKEW_SECONDS must be between 0 and 600.", id="saml_bridge.E002",
        ))
    if getattr(settings, "SAML_MAX_ASSERTION_BYTES", 65536) < 1024:
        errors.append(Error(
            "SAML_MAX_ASSERTION_BYTES is too small for any real assertion (at least 1024).", id="saml_bridge.E003",
        ))
    return errors
