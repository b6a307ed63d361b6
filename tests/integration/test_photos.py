"""/api/photos/: list and retrieve need `photos`, create, update and delete need `photos/write`;
a token sees only its own resource owner's photos."""

import pytest
import requests

from oauth_server.constants import GrantType as G
from resources.models import Photo
from tests.integration.tokens import bearer, challenge, service_token, user_token

pytestmark = pytest.mark.django_db(transaction=True)

READ, WRITE = "photos", "photos photos/write"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def mobile_app(make_client):
    return make_client("Trusted Mobile App", grants=(G.PASSWORD, G.REFRESH_TOKEN))


@pytest.fixture
def photos(server):
    return server.url + "/api/photos/"


@pytest.fixture
def as_alice(server, mobile_app, alice):
    return bearer(user_token(server, mobile_app, "alice", WRITE))


@pytest.fixture
def as_bob(server, mobile_app, bob):
    return bearer(user_token(server, mobile_app, "bob", WRITE))


def add(photos, headers, title="Sunset", image_url="https://img.example.org/sunset.jpg"):
    r = requests.post(photos, json={"title": title, "image_url": image_url}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_owner_adds_a_photo_and_finds_it_in_the_album(photos, as_alice, alice):
    created = add(photos, as_alice)
    assert created["title"] == "Sunset" and created["image_url"] == "https://img.example.org/sunset.jpg"
    assert created["image"] is None and created["created"]
    album = requests.get(photos, headers=as_alice).json()
    assert [p["id"] for p in album["results"]] == [created["id"]]
    assert requests.get(f"{photos}{created['id']}/", headers=as_alice).json() == created
    assert Photo.objects.get().owner == alice


def test_alice_never_sees_bobs_photos(photos, as_alice, as_bob):
    bobs = add(photos, as_bob, title="Bob's shed")
    add(photos, as_alice, title="Alice's garden")
    assert [p["title"] for p in requests.get(photos, headers=as_alice).json()["results"]] == ["Alice's garden"]
    assert requests.get(f"{photos}{bobs['id']}/", headers=as_alice).status_code == 404


def test_alice_cannot_change_or_delete_bobs_photo(photos, as_alice, as_bob):
    bobs = add(photos, as_bob, title="Bob's shed")
    url = f"{photos}{bobs['id']}/"
    assert requests.patch(url, json={"title": "mine now"}, headers=as_alice).status_code == 404
    assert requests.put(url, json={"title": "mine", "image_url": "https://x.example/a.png"},
                        headers=as_alice).status_code == 404
    assert requests.delete(url, headers=as_alice).status_code == 404
    assert Photo.objects.get(pk=bobs["id"]).title == "Bob's shed"


def test_owner_updates_and_deletes_a_photo(photos, as_alice):
    url = f"{photos}{add(photos, as_alice)['id']}/"
    assert requests.patch(url, json={"title": "Dusk"}, headers=as_alice).json()["title"] == "Dusk"
    r = requests.put(url, json={"title": "Dawn", "image_url": "https://img.example.org/dawn.jpg"}, headers=as_alice)
    assert r.status_code == 200 and r.json()["image_url"].endswith("dawn.jpg")
    assert requests.delete(url, headers=as_alice).status_code == 204
    assert not Photo.objects.exists()


def test_reading_without_the_photos_scope_is_refused_with_insufficient_scope(server, photos, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", "userinfo/readonly")
    r = requests.get(photos, headers=bearer(token))
    assert r.status_code == 403
    assert challenge(r) == {"error": "insufficient_scope", "error_description": challenge(r)["error_description"],
                            "scope": "photos"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_with_only_the_photos_scope_is_refused_with_insufficient_scope(
        server, photos, mobile_app, as_alice, method):
    photo = add(photos, as_alice)
    reader = bearer(user_token(server, mobile_app, "alice", READ))
    url = photos if method == "post" else f"{photos}{photo['id']}/"
    r = requests.request(method, url, json={"title": "x", "image_url": "https://x.example/a.png"}, headers=reader)
    assert r.status_code == 403
    assert challenge(r)["error"] == "insufficient_scope" and challenge(r)["scope"] == "photos/write"
    assert requests.get(f"{photos}{photo['id']}/", headers=reader).json() == photo


def test_client_credentials_token_is_refused_because_it_has_no_resource_owner(server, photos, backup_service):
    token = service_token(server, backup_service, "photos")
    r = requests.get(photos, headers=bearer(token))
    assert r.status_code == 403
    assert challenge(r)["error"] == "insufficient_scope"
    assert "resource owner" in r.json()["error_description"]


def test_request_without_a_token_is_refused_with_invalid_token(photos, db):
    r = requests.get(photos)
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"


def test_token_in_the_query_string_is_refused(server, photos, mobile_app, alice):
    token = user_token(server, mobile_app, "alice", READ)
    r = requests.get(photos, params={"access_token": token})
    assert r.status_code == 400 and challenge(r)["error"] == "invalid_request"


@pytest.mark.parametrize("fields", [{}, {"image_url": ""}, {"image_url": "ftp://example.org/a.png"}])
def test_photo_without_an_image_is_refused(photos, as_alice, fields):
    r = requests.post(photos, json={"title": "Nothing", **fields}, headers=as_alice)
    assert r.status_code == 400
    assert not Photo.objects.exists()


def test_photo_with_both_a_url_and_a_file_is_refused(photos, as_alice):
    r = requests.post(photos, data={"title": "Both", "image_url": "https://img.example.org/a.png"},
                      files={"image": ("a.png", PNG, "image/png")}, headers=as_alice)
    assert r.status_code == 400
    assert not Photo.objects.exists()


def test_uploaded_image_is_served_to_its_owner_only(photos, as_alice, as_bob):
    r = requests.post(photos, data={"title": "Upload"}, files={"image": ("holiday.png", PNG, "image/png")},
                      headers=as_alice)
    assert r.status_code == 201, r.text
    link = r.json()["image"]
    assert link.endswith(f"/api/photos/{r.json()['id']}/image/") and r.json()["image_url"] == ""
    image = requests.get(link, headers=as_alice)
    assert image.status_code == 200
    assert image.content == PNG and image.headers["Content-Type"] == "image/png"
    assert requests.get(link, headers=as_bob).status_code == 404
    assert requests.get(link).status_code == 401


def test_upload_that_is_not_an_image_file_is_refused(photos, as_alice):
    r = requests.post(photos, data={"title": "Page"}, files={"image": ("page.html", b"<script>", "text/html")},
                      headers=as_alice)
    assert r.status_code == 400


def test_deleting_a_photo_removes_its_file(photos, as_alice, settings):
    r = requests.post(photos, data={"title": "Upload"}, files={"image": ("a.png", PNG, "image/png")}, headers=as_alice)
    stored = settings.MEDIA_ROOT / Photo.objects.get().image.name
    assert stored.exists()
    assert requests.delete(f"{photos}{r.json()['id']}/", headers=as_alice).status_code == 204
    assert not stored.exists()
