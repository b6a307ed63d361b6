"""Admin lists an admin uses every day open on every database (PostgreSQL runs them with server-side binding)."""

import pytest
from django.utils import timezone

import audit

pytestmark = pytest.mark.django_db

TODAY = timezone.now()


@pytest.mark.parametrize("path", [
    "/admin/audit/auditevent/",
    f"/admin/audit/auditevent/?time__year={TODAY.year}&time__month={TODAY.month}&time__day={TODAY.day}",
    "/admin/audit/auditevent/?q=alice",
    f"/admin/oauth_server/consent/?updated__year={TODAY.year}&updated__month={TODAY.month}",
    f"/admin/resources/photo/?created__year={TODAY.year}",
    "/admin/oauth2_provider/accesstoken/?q=alice",
    "/admin/oauth_server/client/?q=printer",
])
def test_admin_list_with_date_drill_down_and_search_opens(admin_client, alice, path):
    audit.record(audit.Event.TOKEN_REVOKED, user=alice, client="printer", detail="for the list")
    assert admin_client.get(path).status_code == 200
