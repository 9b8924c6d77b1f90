"""The admin warns about members pages cannot reach (imported without a phone
number, e.g. from Grafana OnCall): in the member list and on the member's page."""

from __future__ import annotations

import pytest

from scheduling.models import Member

pytestmark = pytest.mark.django_db


def test_the_member_list_and_page_warn_about_a_member_without_a_phone(
    admin_client, payments
):
    Member.objects.filter(user__username="bob").update(phone="")
    bob = Member.objects.get(user__username="bob")

    listed = admin_client.get("/admin/scheduling/member/").content.decode()
    assert listed.count("⚠ no phone number") == 1
    page = admin_client.get(f"/admin/scheduling/member/{bob.pk}/change/")
    assert "⚠ no phone number: pages to this member fail" in page.content.decode()
    alice = Member.objects.get(user__username="alice")
    page = admin_client.get(f"/admin/scheduling/member/{alice.pk}/change/")
    assert "reachable" in page.content.decode()
    assert "⚠" not in page.content.decode()
