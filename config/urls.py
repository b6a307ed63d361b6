from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from oauth_server.views import JWKSView, MetadataView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("oauth/", include("oauth_server.urls")),
    path("api/", include("resources.urls")),
    path("gateway/", include("resources.gateway.urls")),
    path("saml/", include("saml_bridge.urls")),
    path(".well-known/oauth-authorization-server", MetadataView.as_view(), name="oauth-metadata"),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
    path("", include("ops.urls")),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.not_found"
