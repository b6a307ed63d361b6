"""Site-wide request and response hygiene."""

import ipaddress

from django.conf import settings


class TrustedProxyMiddleware:
    """Drop X-Forwarded-Proto unless the request came straight from a configured trusted proxy."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.networks = [ipaddress.ip_network(p, strict=False) for p in settings.TRUSTED_PROXIES]

    def __call__(self, request):
        if "HTTP_X_FORWARDED_PROTO" in request.META and not self._from_trusted_proxy(request):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)

    def _from_trusted_proxy(self, request):
        try:
            remote = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(remote in network for network in self.networks)


class HtmlSecurityHeadersMiddleware:
    """HTML pages (login, consent) may not be framed, nor leak their URLs to other sites."""

    CSP = "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", self.CSP)
            response.setdefault("Referrer-Policy", "same-origin")
        return response
