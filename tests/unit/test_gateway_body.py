"""The gateway's request body limit, checked up front and counted while a chunked body streams (no database)."""

import io

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory

from resources.gateway.forwarding import LengthRequired, RequestTooLarge, limited_chunks, request_body


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.GATEWAY_MAX_BODY_BYTES = 100


def chunked_request(body, *, decoded_by_server=True):
    """A request as gunicorn hands over a chunked body: no Content-Length, wsgi.input ends with the body."""
    environ = RequestFactory().post("/gateway/x/").environ
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)})
    if decoded_by_server:
        environ["wsgi.input_terminated"] = True
    return WSGIRequest(environ)


def test_counting_stops_a_stream_as_soon_as_it_passes_the_limit():
    stream = io.BytesIO(b"x" * 1000)
    chunks = limited_chunks(stream, 100, chunk_size=30)
    assert [len(next(chunks)) for _ in range(3)] == [30, 30, 30]
    with pytest.raises(RequestTooLarge):
        next(chunks)
    assert stream.tell() == 120  # it read no further than the chunk that crossed the limit


def test_stream_at_the_limit_is_passed_whole():
    assert b"".join(limited_chunks(io.BytesIO(b"x" * 100), 100, chunk_size=30)) == b"x" * 100


def test_declared_length_over_the_limit_is_refused_before_reading():
    request = RequestFactory().post("/gateway/x/", data=b"x" * 101, content_type="application/octet-stream")
    with pytest.raises(RequestTooLarge):
        request_body(request)


def test_declared_length_is_forwarded_with_the_body():
    request = RequestFactory().post("/gateway/x/", data=b"abc", content_type="text/plain")
    length, body = request_body(request)
    assert length == 3 and b"".join(body) == b"abc"


def test_request_without_a_body_sends_none():
    assert request_body(RequestFactory().get("/gateway/x/")) == (None, None)


def test_chunked_body_has_no_length_and_is_counted_while_it_streams():
    length, body = request_body(chunked_request(b"y" * 100))
    assert length is None and b"".join(body) == b"y" * 100
    length, body = request_body(chunked_request(b"y" * 101))
    with pytest.raises(RequestTooLarge):
        b"".join(body)


def test_chunked_body_the_server_did_not_decode_is_refused():
    with pytest.raises(LengthRequired):
        request_body(chunked_request(b"abc", decoded_by_server=False))
