"""The path the gateway sends upstream: as the caller encoded it, never climbing out of the route."""

import pytest

from resources.gateway.forwarding import BadPath, upstream_path


def test_raw_request_line_is_kept_as_encoded():
    meta = {"RAW_URI": "/gateway/photos/items/a%2Fb/c?x=1"}
    assert upstream_path(meta, "photos", "/items/a/b/c") == "/items/a%2Fb/c"


def test_decoded_path_is_encoded_again_without_a_raw_request_line():
    assert upstream_path({}, "photos", "/items/a b/ü") == "/items/a%20b/%C3%BC"


@pytest.mark.parametrize("raw", ["/gateway/photos/%2e%2e/secret", "/gateway/photos/..%2fsecret",
                                 "/gateway/photos/a/../secret", "/gateway/photos/%2E/x"])
def test_dot_segments_are_refused(raw):
    with pytest.raises(BadPath):
        upstream_path({"RAW_URI": raw}, "photos", "/ignored")


def test_dot_segments_are_refused_in_the_decoded_path_too():
    with pytest.raises(BadPath):
        upstream_path({}, "photos", "/../secret")


def test_empty_rest_is_the_route_base():
    assert upstream_path({"RAW_URI": "/gateway/photos"}, "photos", "") == ""
