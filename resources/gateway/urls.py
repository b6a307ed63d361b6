from django.urls import re_path

from .views import GatewayView

app_name = "gateway"

urlpatterns = [
    # /gateway/<prefix> and /gateway/<prefix>/<rest>: <rest> keeps its leading slash and goes to the upstream.
    # Any prefix matches here, so that an unknown one gets the gateway's JSON 404 (after the token check).
    re_path(r"^(?P<prefix>[^/]*)(?P<rest>/.*)?$", GatewayView.as_view(), name="forward"),
]
