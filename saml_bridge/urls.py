from django.urls import path

from . import views

app_name = "saml"

urlpatterns = [
    path("metadata/", views.SPMetadataView.as_view(), name="metadata"),
]
