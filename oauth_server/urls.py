from django.urls import path

from . import views

app_name = "oauth"

urlpatterns = [
    path("authorize", views.ConsentView.as_view(), name="authorize"),
    path("token", views.TokenView.as_view(), name="token"),
    path("revoke", views.RevokeView.as_view(), name="revoke"),
    path("tokeninfo", views.TokenInfoView.as_view(), name="tokeninfo"),
    path("introspect", views.IntrospectView.as_view(), name="introspect"),
]
