from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import views
from .schema import DocsView

app_name = "resources"

router = SimpleRouter()
router.register("photos", views.PhotoViewSet, basename="photo")

urlpatterns = [
    path("userinfo", views.UserInfoView.as_view(), name="userinfo"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="resources:schema"), name="docs"),
    *router.urls,
]
