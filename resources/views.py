"""The built-in protected APIs. Scope rules are declared here and enforced by permissions.HasRequiredScopes."""

import math
import mimetypes

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Photo
from .permissions import declared_methods
from .serializers import PhotoSerializer, UserInfoSerializer


class ProtectedAPI:
    """What our API views share beyond authentication and the scope permission (set in REST_FRAMEWORK)."""

    @property
    def default_response_headers(self):
        # DRF's Allow lists every method with a handler; ours lists those with a scope rule.
        return {**super().default_response_headers, "Allow": ", ".join(declared_methods(self))}

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # A resource owner's data is not for shared caches, nor the browser's (RFC 9111 §5.2.2.5).
        response.setdefault("Cache-Control", "no-store")
        return response


@extend_schema(tags=["userinfo"])
class UserInfoView(ProtectedAPI, APIView):
    """Who the resource owner of the access token is."""

    required_scopes = {"GET": ["userinfo/readonly"]}
    requires_resource_owner = True

    @extend_schema(responses=UserInfoSerializer, operation_id="userinfo")
    def get(self, request):
        # A plain dict: building the serializer per request (DRF deep-copies its fields) cost 7 % of this call.
        return Response(request.user.userinfo())


class PhotoPages(LimitOffsetPagination):
    """limit and offset as the schema declares them: a malformed value is refused with 400 invalid_request
    (DRF's paginator would silently use its default instead). A limit over the maximum is lowered to it."""

    default_limit = 50
    max_limit = 200
    BOUNDS = {"limit": (1, None), "offset": (0, 2**63 - 1)}  # (minimum, maximum): an OFFSET is 64-bit

    def get_limit(self, request):
        return min(self._count(request, self.limit_query_param, self.default_limit), self.max_limit)

    def get_offset(self, request):
        return self._count(request, self.offset_query_param, 0)

    def _count(self, request, name, default):
        raw = request.query_params.get(name)
        if raw is None:
            return default
        minimum, maximum = self.BOUNDS[name]
        if raw.isascii() and raw.isdigit():
            digits = raw.lstrip("0") or "0"
            value = int(digits) if len(digits) <= 19 else math.inf  # Python refuses int() of a huge string
            if value >= minimum and (maximum is None or value <= maximum):
                return value
        bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        # A field error, rendered as every API validation error: 400 invalid_request, without a Bearer challenge.
        raise ValidationError({name: [f"Must be an integer {bounds}."]})

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            minimum, maximum = self.BOUNDS[parameter["name"]]
            parameter["schema"]["minimum"] = minimum
            if maximum is not None:
                parameter["schema"]["maximum"] = maximum
        return parameters


@extend_schema(tags=["photos"])
class PhotoViewSet(ProtectedAPI, viewsets.ModelViewSet):
    """The resource owner's photo album: a token sees only its own resource owner's photos."""

    serializer_class = PhotoSerializer
    pagination_class = PhotoPages
    required_scopes = {
        "list": ["photos"],
        "retrieve": ["photos"],
        "image": ["photos"],
        "create": ["photos/write"],
        "update": ["photos/write"],
        "partial_update": ["photos/write"],
        "destroy": ["photos/write"],
    }
    requires_resource_owner = True

    def get_queryset(self):
        return Photo.objects.filter(owner=self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    @extend_schema(responses={(200, "image/*"): OpenApiResponse(description="The uploaded image file.")})
    @action(detail=True, methods=["get"])
    def image(self, request, pk=None):
        """The uploaded image of a photo (404 when the photo links to an image elsewhere)."""
        photo = self.get_object()
        if not photo.image:
            raise NotFound("This photo has no uploaded file.")
        content_type = mimetypes.guess_type(photo.image.name)[0] or "application/octet-stream"
        response = FileResponse(photo.image.open("rb"), content_type=content_type)
        # The file came from a user: never let it run as a page on our origin.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
