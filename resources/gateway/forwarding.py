"""Forwarding a checked request to an upstream API and streaming its answer back (RFC 9110 §7.6 intermediaries).

One urllib3 pool manager per process; request and response bodies are streamed, never held in memory
whole. urllib3 rather than httpx: it does the same call for ~40 % less CPU (bench/README.md), and it has
no cookie handling and reads no proxy settings from the environment, which a gateway must not have.
"""

import http.client
import logging
from urllib.parse import quote, unquote

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from django.conf import settings
from django.http import StreamingHttpResponse
from rest_framework import status
from rest_framework.exceptions import APIException

log = logging.getLogger(__name__)

# Connections to upstreams are kept alive and reused across requests (urllib3's pools are thread-safe).
# No retries (a request with a body must not be sent twice), no redirects (the caller sees them).
upstream_pool = urllib3.PoolManager(num_pools=100, maxsize=50, block=False, retries=False)

# RFC 9110 §7.6.1: connection-specific fields are not forwarded, nor those the Connection field names.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
              "te", "trailer", "transfer-encoding", "upgrade"}
# Set by the gateway from the access token; whatever a caller sends under these names is dropped.
IDENTITY_HEADERS = {"x-authenticated-user", "x-client-id", "x-scopes"}
# Not passed upstream: the token itself, what the client library sets for the upstream connection, and
# our own site's cookies (the caller's session with this server is none of the upstream's business).
# Expect: 100-continue was answered (or not) by our own server.
NOT_FORWARDED = HOP_BY_HOP | IDENTITY_HEADERS | {"authorization", "host", "content-length", "expect", "cookie"}
# Not passed back: our server writes its own Date and Server, and an upstream may not set cookies on
# this server's origin (they would reach the login, consent and admin pages).
NOT_RETURNED = HOP_BY_HOP | {"date", "server", "set-cookie"}
# RFC 3986 §3.3: characters a path segment may hold unescaped; everything else is percent-encoded again.
PATH_SAFE = "/:@!$&'()*+,;=-._~"
VIA = "1.1 oauth-gateway"
CHUNK_SIZE = 64 * 1024


class GatewayError(APIException):
    pass


class LengthRequired(GatewayError):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_code = "length_required"
    default_detail = "This server cannot read a chunked request body: send a Content-Length."


class RequestTooLarge(GatewayError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(f"The request body is over the gateway's limit of {settings.GATEWAY_MAX_BODY_BYTES} bytes.")


class BadPath(GatewayError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_request"
    default_detail = "The path may not contain '.' or '..' segments."


class UpstreamUnavailable(GatewayError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "bad_gateway"
    default_detail = "The upstream API could not be reached."


class UpstreamTimeout(GatewayError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "gateway_timeout"
    default_detail = "The upstream API did not answer in time."


# --- the request ------------------------------------------------------------------------------

def upstream_path(meta, prefix, rest):
    """The path after /gateway/<prefix>, as the caller encoded it; dot segments are refused.

    The raw request line (gunicorn's RAW_URI) keeps %2F and friends as sent; Django's decoded path is
    the fallback. A '.' or '..' segment, encoded or not, would let the caller climb out of the route's
    base path once the URL is normalised (RFC 3986 §5.2.4), so it is refused outright.
    """
    raw = (meta.get("RAW_URI") or meta.get("REQUEST_URI") or "").split("?", 1)[0]
    head = f"/gateway/{prefix}"
    if raw.startswith(head + "/") or raw == head:
        path = quote(raw[len(head):], safe=PATH_SAFE + "%")  # already percent-encoded by the caller
    else:
        path = quote(rest, safe=PATH_SAFE)
    if any(part in (".", "..") for part in unquote(path).split("/")):  # %2F-separated dots count too
        raise BadPath()
    return path


def upstream_headers(incoming, access_token):
    """The caller's ordinary headers, without the token or spoofed identity, plus the token's identity."""
    dropped = NOT_FORWARDED | _connection_options(incoming.get("Connection", ""))
    headers = [(name, value) for name, value in incoming.items() if name.lower() not in dropped]
    if access_token.user is not None:
        headers.append(("X-Authenticated-User", access_token.user.subject))
    headers.append(("X-Client-Id", access_token.application.client_id))
    headers.append(("X-Scopes", access_token.scope))
    # RFC 9110 §7.6.3: an HTTP-to-HTTP gateway MUST send Via in each inbound request message.
    via = incoming.get("Via")
    headers.append(("Via", f"{via}, {VIA}" if via else VIA))
    # WSGI hands header values over decoded as ISO-8859-1; http.client encodes them back the same way,
    # so every byte the caller sent is kept.
    return headers


def request_body(request):
    """(Content-Length or None, an iterator over the body or None). Raises RequestTooLarge, LengthRequired."""
    limit = settings.GATEWAY_MAX_BODY_BYTES
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        # RFC 9112 §6.1: a chunked body has no length up front; count it while it streams.
        if not meta.get("wsgi.input_terminated"):
            raise LengthRequired()  # the WSGI server did not decode the chunks: we cannot find the end
        return None, limited_chunks(meta["wsgi.input"], limit)
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0:
        raise LengthRequired("The Content-Length is not a number.")
    if length > limit:
        raise RequestTooLarge()
    if length == 0:
        return None, None
    return length, limited_chunks(request, limit)


def limited_chunks(stream, limit, chunk_size=CHUNK_SIZE):
    """Read `stream` in chunks; raise RequestTooLarge as soon as more than `limit` bytes have come."""
    total = 0
    while chunk := stream.read(chunk_size):
        total += len(chunk)
        if total > limit:
            raise RequestTooLarge()
        yield chunk


def send(route, method, *, url, headers, body, length):
    """Send the request upstream and return the urllib3 response, its body not yet read."""
    fields = urllib3.HTTPHeaderDict()
    for name, value in headers:
        fields.add(name, value)  # repeated fields stay separate lines
    if length is not None:
        fields["Content-Length"] = str(length)
    try:
        return upstream_pool.urlopen(
            method, url, body=body, headers=fields, chunked=body is not None and length is None,
            redirect=False, retries=False, preload_content=False, decode_content=False,
            timeout=urllib3.Timeout(connect=route.timeout, read=route.timeout),
        )
    except NewConnectionError as error:  # refused, no route, no such host; first: it subclasses the timeout
        log.warning("gateway route %s: upstream unreachable: %s", route.prefix, type(error).__name__)
        raise UpstreamUnavailable()
    except Urllib3Timeout:
        log.warning("gateway route %s: upstream timed out after %ss", route.prefix, route.timeout)
        raise UpstreamTimeout()
    except (Urllib3Error, http.client.HTTPException, OSError) as error:
        log.warning("gateway route %s: upstream unreachable: %s", route.prefix, type(error).__name__)
        raise UpstreamUnavailable()


# --- the response -----------------------------------------------------------------------------

def streamed_response(upstream):
    """The upstream's status, headers and body, streamed to the caller as it arrives."""
    response = StreamingHttpResponse(_relay(upstream), status=upstream.status, reason=upstream.reason)
    dropped = NOT_RETURNED | _connection_options(upstream.headers.get("Connection", ""))
    fields = {}
    for name, value in upstream.headers.items():  # one pair per field line, as received (latin-1)
        if name.lower() not in dropped:
            fields.setdefault(name.lower(), (name, []))[1].append(value)
    for name, values in fields.values():
        # RFC 9110 §5.3: field lines with the same name combine into one, comma-separated.
        response[name] = ", ".join(values)
    if "content-type" not in fields:
        del response["Content-Type"]  # not Django's text/html default
    return response


def _relay(upstream):
    """The body as the upstream sent it (still compressed if it was); the connection is released at the end."""
    complete = False
    try:
        while chunk := upstream.read1(CHUNK_SIZE):  # whatever has arrived, up to CHUNK_SIZE: no holding back
            yield chunk
        complete = True
    except (Urllib3Error, http.client.HTTPException, OSError) as error:
        # The status line is gone already: abort, so the caller sees a cut body rather than a short one.
        log.warning("gateway: upstream body broke off: %s", type(error).__name__)
        raise
    finally:
        if not complete:
            upstream.close()  # unread bytes: this connection cannot carry another request
        upstream.release_conn()


def _connection_options(value):
    return {option.strip().lower() for option in value.split(",") if option.strip()}
