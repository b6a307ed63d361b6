"""Site-wide request and response hygiene, and the one answer to "which address is this client at?"."""

import functools
import ipaddress

from django.conf import settings


@functools.lru_cache(maxsize=8)
def _networks(proxies):
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted_proxy(address):
    """Whether `address` (a string) is one of TRUSTED_PROXIES; False for anything that is not an IP address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request):
    """The address of the client: REMOTE_ADDR, or X-Forwarded-For only when REMOTE_ADDR is a trusted proxy.

    Behind trusted proxies the client is the right-most X-Forwarded-For entry that is not itself a
    trusted proxy: every entry left of it was written by the client and can be anything. Used by the
    login lockout (AXES_CLIENT_IP_CALLABLE), the rate limits and the audit trail, so they all agree.
    Takes a Django HttpRequest, or anything with a META-like `META` or `headers` mapping (oauthlib's
    Request carries a copy of META as its headers).
    """
    meta = getattr(request, "META", None)
    if meta is None:
        meta = getattr(request, "headers", None) or {}
    remote = (meta.get("REMOTE_ADDR") or "").strip()
    if not remote or not settings.TRUSTED_PROXIES or not _is_trusted_proxy(remote):
        return remote or None
    forwarded = [part.strip() for part in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()]
    for candidate in reversed(forwarded):
        try:
            address = str(ipaddress.ip_address(candidate))
        except ValueError:
            break  # a proxy we trust wrote something that is not an address: fall back to the proxy
        if not _is_trusted_proxy(address):
            return address
    return remote


class TrustedProxyMiddleware:
    """Drop X-Forwarded-Proto unless the request came straight from a configured trusted proxy."""

    def __init__(self, get_response):
        self.get_response = get_response
        _networks(tuple(settings.TRUSTED_PROXIES))  # a malformed TRUSTED_PROXIES fails at start-up

    def __call__(self, request):
        if "HTTP_X_FORWARDED_PROTO" in request.META and not self._from_trusted_proxy(request):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)

    def _from_trusted_proxy(self, request):
        return bool(settings.TRUSTED_PROXIES) and _is_trusted_proxy(request.META.get("REMOTE_ADDR", ""))


class HtmlSecurityHeadersMiddleware:
    """HTML pages (login, consent, connected apps, admin) may not be framed, nor leak their URLs to other sites.

    Referrer-Policy is "same-origin", not "no-referrer": with no-referrer browsers send `Origin: null` on
    form POSTs and Django's CSRF check fails. The authorization endpoint's redirects to the client, whose
    Location carries a code or a token, set "no-referrer" themselves (oauth_server.views.ConsentView).
    """

    CSP = "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", self.CSP)
            response.setdefault("Referrer-Policy", "same-origin")
            response.setdefault("X-Frame-Options", "DENY")
        return response
