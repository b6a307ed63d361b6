"""Content negotiation for the protected APIs, which answer in JSON only."""

from rest_framework.negotiation import DefaultContentNegotiation

ANYTHING = {None, "*/*"}  # no Accept header, or what requests and curl send


class SingleRendererNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answered at once in the usual case: one renderer, a client that accepts anything
    and no `?format=`. DRF would parse the Accept header to reach the same answer; any other request still
    goes through it (406, 404 on a format)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if (len(renderers) == 1 and not format_suffix and request.META.get("HTTP_ACCEPT") in ANYTHING
                and self.settings.URL_FORMAT_OVERRIDE not in request.query_params):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
