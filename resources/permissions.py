"""The one scope rule for every protected API (RFC 6750 §3.1): the token must carry the scopes the view declares.

A view declares its rules; nothing is checked by hand inside views:

    class PhotoViewSet(viewsets.ModelViewSet):
        required_scopes = {"list": ["photos"], "create": ["photos/write"], ...}   # by viewset action
        requires_resource_owner = True                                          # refuse tokens without a user

    class UserInfoView(APIView):
        required_scopes = {"GET": ["userinfo/readonly"]}                        # by HTTP method

A view whose rules depend on data (the gateway's routes) defines `get_required_scopes(request)` instead.
An action or method without a rule is refused with 405: nothing is open by omission.
"""

from rest_framework.permissions import BasePermission

from .exceptions import InsufficientScope, MethodNotAllowed


class HasRequiredScopes(BasePermission):
    def has_permission(self, request, view):
        token = request.auth
        if token is None:
            return False  # DRF raises NotAuthenticated: 401 invalid_token
        required = required_scopes(view, request)
        if not set(required) <= set(token.scope.split()):
            raise InsufficientScope(required)
        if getattr(view, "requires_resource_owner", False) and token.user is None:
            raise InsufficientScope(
                required, "This API acts for a resource owner: a client credentials token has none."
            )
        return True


def required_scopes(view, request):
    """The scopes `view` declares for this request's action (viewsets) or HTTP method; 405 when none."""
    if hasattr(view, "get_required_scopes"):
        return view.get_required_scopes(request)
    scopes = declared_scopes(view, request.method)
    if scopes is None:
        raise MethodNotAllowed(request.method, allowed=declared_methods(view))
    return scopes


def declared_scopes(view, method):
    """The scopes declared for `method` on `view` (by the action it maps to, on a viewset), or None."""
    rules = getattr(view, "required_scopes", {})
    action_map = getattr(view, "action_map", None)
    if action_map is not None:
        return rules.get(action_map.get(method.lower()))
    if method == "HEAD" and "HEAD" not in rules:
        method = "GET"  # RFC 9110 §9.3.2: HEAD is GET without the content
    return rules.get(method)


def declared_methods(view):
    action_map = getattr(view, "action_map", None)
    if action_map is not None:
        methods = [m.upper() for m in action_map]
    else:
        methods = ["HEAD", *getattr(view, "required_scopes", {})]
    return sorted({m for m in methods if declared_scopes(view, m) is not None})
