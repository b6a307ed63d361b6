"""Our SP metadata (SAML 2.0 Metadata §2.4.4), so an IdP admin can register this server."""

from django.http import HttpResponse
from django.views import View

from . import registry

METADATA_CONTENT_TYPE = "application/samlmetadata+xml"  # SAML 2.0 Metadata §4.1.1


class SPMetadataView(View):
    http_method_names = ["get", "head", "options"]

    def get(self, request):
        response = HttpResponse(registry.sp_metadata_xml(), content_type=METADATA_CONTENT_TYPE)
        response["Cache-Control"] = "public, max-age=300"
        response["Content-Disposition"] = 'inline; filename="metadata.xml"'
        return response
