"""Login lockout (django-axes): per user and per address, with a clear message, on the login page, the admin's
login and the password grant; lifted by time or by an admin."""

from datetime import timedelta

import pytest
import requests
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from config.middleware import client_ip
from oauth_server.constants import GrantType as G
from tests.conftest import PASSWORDS

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = "/accounts/login/"


def sign_in(username, password, ip="192.0.2.10", path=LOGIN, **extra):
    return Client(REMOTE_ADDR=ip).post(path, {"username": username, "password": password}, **extra)


def signed_in(response):
    return response.status_code == 302


def fail(username, times, ip="192.0.2.10"):
    return [sign_in(username, "wrong-password", ip=ip) for _ in range(times)]


def test_fifth_wrong_password_locks_the_user_out_with_a_clear_message(alice):
    first_four = fail("alice", 4)
    assert all(r.status_code == 200 and b"did not match" in r.content for r in first_four)
    fifth = sign_in("alice", "wrong-password")
    assert fifth.status_code == 429
    assert "Too many failed attempts; try again in 15 minutes." in fifth.content.decode()
    # Locked out: even the right password is refused, and nobody is signed in.
    right = sign_in("alice", PASSWORDS["alice"])
    assert right.status_code == 429 and "_auth_user_id" not in right.client.session
    assert int(right["Retry-After"]) == 15 * 60


def test_attempts_during_the_lockout_do_not_extend_it_and_the_page_counts_down(alice):
    fail("alice", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=10, seconds=30))
    r = sign_in("alice", "wrong-password")
    assert r.status_code == 429 and "try again in 5 minutes" in r.content.decode()
    assert AccessAttempt.objects.get().failures_since_start == 5


def test_the_lockout_ends_after_the_cool_off(alice):
    fail("alice", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert signed_in(sign_in("alice", PASSWORDS["alice"]))


def test_per_user_failures_count_across_addresses(alice, bob):
    for n in range(5):
        fail("alice", 1, ip=f"198.51.100.{n + 1}")
    assert sign_in("alice", PASSWORDS["alice"], ip="203.0.113.50").status_code == 429
    # The addresses themselves are not locked: bob signs in from one of them.
    assert signed_in(sign_in("bob", PASSWORDS["bob"], ip="198.51.100.1"))


def test_per_address_failures_count_across_usernames(settings, alice, bob):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 6
    for n in range(6):
        fail(f"guess{n}", 1, ip="198.51.100.99")
    assert sign_in("bob", PASSWORDS["bob"], ip="198.51.100.99").status_code == 429
    assert signed_in(sign_in("bob", PASSWORDS["bob"], ip="198.51.100.100"))


def test_address_limit_is_higher_than_the_user_limit_by_default(alice, bob):
    for n in range(4):
        fail(f"guess{n}", 1, ip="198.51.100.7")
    for n in range(4):
        fail(f"other{n}", 1, ip="198.51.100.7")
    # Eight failures from one address (an office behind NAT), under every per-user limit: not locked.
    assert signed_in(sign_in("bob", PASSWORDS["bob"], ip="198.51.100.7"))


def test_admin_unlocks_by_deleting_the_access_attempt(alice, django_user_model):
    fail("alice", 5)
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "root-password-2026")
    browser = Client(REMOTE_ADDR="192.0.2.200")
    browser.force_login(admin)
    page = browser.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and b"alice" in page.content
    attempt = AccessAttempt.objects.get(username="alice")
    r = browser.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk],
                                                    "post": "yes"})
    assert r.status_code == 302 and not AccessAttempt.objects.exists()
    assert signed_in(sign_in("alice", PASSWORDS["alice"]))


def test_reset_command_unlocks_a_user(alice):
    fail("alice", 5)
    call_command("axes_reset_username", "alice")
    assert signed_in(sign_in("alice", PASSWORDS["alice"]))


def test_admin_login_page_is_covered_too(django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.org", "root-password-2026")
    for _ in range(5):
        last = sign_in("root", "wrong", path="/admin/login/")
    assert last.status_code == 429 and b"Too many failed attempts" in last.content
    assert sign_in("root", "root-password-2026", path="/admin/login/").status_code == 429


def test_password_grant_counts_failures_and_answers_invalid_grant_when_locked(server, make_client, alice):
    app = make_client("Trusted app", grants=(G.PASSWORD,))

    def password_grant(password):
        return requests.post(server.token, data={"grant_type": "password", "username": "alice", "password": password,
                                                 "scope": "photos"}, auth=(app.client_id, app.secret))

    for _ in range(5):
        r = password_grant("wrong-password")
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    locked = password_grant(PASSWORDS["alice"])
    assert locked.status_code == 400 and locked.headers["Content-Type"] == "application/json"
    assert locked.json()["error"] == "invalid_grant"
    # One count for both doors: the login page is locked for alice too.
    assert sign_in("alice", PASSWORDS["alice"]).status_code == 429
    assert AccessAttempt.objects.get(username="alice").ip_address == "127.0.0.1"
    # And the secrets of the token request are not kept in axes' record of the attempt.
    attempt = AccessAttempt.objects.get(username="alice")
    assert app.secret not in attempt.post_data and "wrong-password" not in attempt.post_data

    AccessAttempt.objects.all().delete()
    assert password_grant(PASSWORDS["alice"]).status_code == 200


def test_login_form_after_failures_below_the_limit_still_signs_in(alice):
    fail("alice", 4)
    assert signed_in(sign_in("alice", PASSWORDS["alice"]))


# --- which address counts ---------------------------------------------------------------------------------
class _Request:
    def __init__(self, **meta):
        self.META = meta


def test_client_ip_is_remote_addr_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_Request(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.1")) == "203.0.113.5"


def test_client_ip_believes_x_forwarded_for_only_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    from_proxy = _Request(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1, 10.0.0.9")
    # The right-most address that is not a trusted proxy; "1.2.3.4" was written by the client.
    assert client_ip(from_proxy) == "198.51.100.1"
    spoofed = _Request(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(spoofed) == "203.0.113.5"
    garbage = _Request(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(garbage) == "10.0.0.2"
    assert client_ip(_Request(REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def test_lockout_counts_the_forwarded_address_behind_a_trusted_proxy(settings, alice, bob):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 5
    for n in range(5):
        Client(REMOTE_ADDR="10.0.0.1").post(LOGIN, {"username": f"guess{n}", "password": "x"},
                                            HTTP_X_FORWARDED_FOR="198.51.100.66")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.66"}
    # Another client behind the same proxy is not locked out with the guesser.
    r = Client(REMOTE_ADDR="10.0.0.1").post(LOGIN, {"username": "bob", "password": PASSWORDS["bob"]},
                                            HTTP_X_FORWARDED_FOR="198.51.100.67")
    assert signed_in(r)
    # A client that is not the proxy cannot choose its address with the header.
    Client(REMOTE_ADDR="203.0.113.9").post(LOGIN, {"username": "x", "password": "x"},
                                           HTTP_X_FORWARDED_FOR="198.51.100.66")
    assert AccessAttempt.objects.filter(ip_address="203.0.113.9").exists()
