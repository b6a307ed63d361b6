"""The gateway: /gateway/<prefix>/<rest> is checked like every protected API, then forwarded upstream."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ..exceptions import MethodNotAllowed
from ..models import GatewayRoute
from . import forwarding

class CallerAcceptIsForTheUpstream(BaseContentNegotiation):
    """Our own (error) responses are JSON whatever the caller accepts: its Accept header is the upstream's."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(exclude=True)  # each route is described by resources.schema
class GatewayView(APIView):
    renderer_classes = [JSONRenderer]
    parser_classes = []
    content_negotiation_class = CallerAcceptIsForTheUpstream
    default_response_headers = {}  # DRF would write its own Allow over the upstream's

    def get_required_scopes(self, request):
        """HasRequiredScopes asks here: the route's rule for this method. 404 or 405 when there is none."""
        self.route = GatewayRoute.objects.serving(self.kwargs["prefix"])
        if self.route is None:
            raise NotFound("No gateway route has this prefix.")
        scopes = self.route.scopes_for(request.method)
        if scopes is None:
            raise MethodNotAllowed(request.method, allowed=self.route.allowed_methods)
        return scopes

    def forward(self, request, prefix, rest=""):
        django_request = request._request  # the raw WSGI request: its body has not been read
        length, body = forwarding.request_body(django_request)
        upstream = forwarding.send(
            self.route, request.method,
            url=self.route.upstream_url_for(forwarding.upstream_path(django_request.META, prefix, rest or ""),
                                            django_request.META.get("QUERY_STRING", "")),
            headers=forwarding.upstream_headers(django_request.headers, request.auth),
            body=body, length=length,
        )
        return forwarding.streamed_response(upstream)

    get = post = put = patch = delete = head = options = forward
