"""The admin's iCal feeds page: make a feed (URL shown once), last fetch, revoke."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from scheduling.models import FeedToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(payments):
    admin = get_user_model().objects.create_superuser("root", password="pw")
    client = Client()
    client.force_login(admin)
    return client, payments


def test_an_operator_makes_a_feed_and_sees_its_url_once(admin_client_):
    client, (team, people) = admin_client_
    response = client.post(
        "/admin/scheduling/feedtoken/add/",
        {"member": people[1].pk, "team": "", "rotation": "", "owner": ""},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    url = re.search(r"<code>(http://[^<]+\.ics)</code>", page).group(1)
    assert "webcal://" in page
    feed = FeedToken.objects.get()
    assert feed.owner == people[1].user and feed.member == people[1]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    Client().get(f"/ical/{token}.ics", HTTP_USER_AGENT="Google-Calendar-Importer")
    listing = client.get("/admin/scheduling/feedtoken/").content.decode()
    assert "Google-Calendar-Importer fetched this" in listing
    assert token not in listing
    detail = client.get(f"/admin/scheduling/feedtoken/{feed.pk}/change/")
    assert token not in detail.content.decode()
    client.post(
        "/admin/scheduling/feedtoken/",
        {"action": "revoke_feeds", "_selected_action": [feed.pk]},
    )
    assert Client().get(f"/ical/{token}.ics").status_code == 404
