from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=False), name="login"),
    path("logout/", auth_views.LogoutView.as_view(template_name="registration/logged_out.html"), name="logout"),
    path("apps/", views.connected_apps, name="connected-apps"),
    path("apps/revoke/", views.revoke_access, name="connected-apps-revoke"),
]
