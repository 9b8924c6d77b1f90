"""The admin: conflict markers in the schedule picture, one-click covers, and
out-of-office calendars with their last fetch."""

from __future__ import annotations

import datetime as dt
import re

from django.contrib.auth import get_user_model
from django.utils import timezone

from scheduling.models import OutOfOfficeCalendar, Override, Unavailability
from scheduling.out_of_office import ooo_calendar_set, ooo_calendars_fetch
from tests.scheduling.ooo.conftest import pto_calendar
from tests.scheduling.ooo.server import Route

UTC = dt.UTC


def at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def away(member, starts_at, ends_at, summary="PTO"):
    calendar, _ = OutOfOfficeCalendar.objects.get_or_create(
        member=member, defaults={"url": "http://127.0.0.1:9/never-fetched.ics"}
    )
    Unavailability.objects.create(
        member=member,
        calendar=calendar,
        starts_at=starts_at,
        ends_at=ends_at,
        summary=summary,
    )


def picture(client, team, start: dt.date) -> str:
    url = f"/admin/scheduling/team/{team.pk}/schedule/?start={start}&weeks=2"
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_picture_marks_a_conflict_and_one_click_makes_the_override(
    admin_client, admin_user, rotation, alice, bob, charlie
):
    team = rotation.team
    day = timezone.now().astimezone(UTC).date() + dt.timedelta(days=1)
    away(alice, at(day, 10), at(day, 12), summary="Dentist")
    start = day - dt.timedelta(days=day.weekday())

    html = picture(admin_client, team, start)

    assert html.count('class="conflict-mark"') == 1
    assert "Conflict: Alice is unavailable (Dentist)" in html
    forms = re.findall(
        r'name="key" value="([^"]+)".*?name="member" value="(\d+)"', html
    )
    assert [int(m) for _, m in forms] == [
        charlie.pk,
        *[p.pk for p in team.members.order_by("user__username")][3:],
    ]

    key, member_id = forms[0]
    response = admin_client.post(
        f"/admin/scheduling/team/{team.pk}/cover/",
        {"key": key, "member": member_id, "start": str(start), "weeks": "2"},
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"?start={start}&weeks=2#conflicts")
    override = Override.objects.get()
    assert (override.member, override.role, override.created_by) == (
        charlie,
        "primary",
        admin_user,
    )
    assert (override.starts_at, override.ends_at) == (at(day, 10), at(day, 12))
    assert 'class="conflict-mark"' not in picture(admin_client, team, start)


def test_a_stale_or_bad_cover_is_a_message_not_an_error(admin_client, rotation, alice):
    team = rotation.team
    url = f"/admin/scheduling/team/{team.pk}/cover/"
    for data in ({"key": "1:primary:1:2:3", "member": alice.pk}, {"member": "x"}, {}):
        response = admin_client.post(url, data, follow=True)
        assert response.status_code == 200
        assert b"conflict is gone" in response.content or b"No such member" in (
            response.content
        )
    assert not Override.objects.exists()
    assert admin_client.get(url).status_code == 405
    assert admin_client.post("/admin/scheduling/team/999999/cover/").status_code == 404


def test_staff_without_the_override_permission_cannot_cover(client, rotation, alice):
    user = get_user_model().objects.create_user("viewer", is_staff=True)
    client.force_login(user)
    response = client.post(f"/admin/scheduling/team/{rotation.team.pk}/cover/", {})
    assert response.status_code == 403


def test_the_member_page_sets_the_calendar_and_shows_a_failed_fetch(
    admin_client, pto_server, alice, today
):
    pto_server.routes["/broken.ics"] = Route(status=503)
    url = pto_server.url("/broken.ics")
    page = f"/admin/scheduling/member/{alice.pk}/change/"
    form = {
        "user": alice.user.pk,
        "phone": alice.phone,
        "time_zone": alice.time_zone,
        "active": "on",
        "ooo_calendar-TOTAL_FORMS": "1",
        "ooo_calendar-INITIAL_FORMS": "0",
        "ooo_calendar-MIN_NUM_FORMS": "0",
        "ooo_calendar-MAX_NUM_FORMS": "1",
        "ooo_calendar-0-url": url,
        "ooo_calendar-0-member": alice.pk,
    }
    response = admin_client.post(page, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert OutOfOfficeCalendar.objects.get(member=alice).url == url

    ooo_calendars_fetch(now=timezone.now())

    html = admin_client.get(page).content.decode()
    assert "HTTP 503" in html
    listing = admin_client.get("/admin/scheduling/outofofficecalendar/").content
    assert b"HTTP 503" in listing


def test_the_fetch_now_action_fetches_the_selected_calendars(
    admin_client, pto_server, alice, today
):
    ooo_calendar_set(
        member=alice, url=pto_server.calendar("/a.ics", pto_calendar(today))
    )
    calendar = OutOfOfficeCalendar.objects.get(member=alice)

    response = admin_client.post(
        "/admin/scheduling/outofofficecalendar/",
        {"action": "fetch_now", "_selected_action": [calendar.pk]},
        follow=True,
    )

    assert b"1 fetched, 0 failed" in response.content
    assert Unavailability.objects.filter(member=alice).count() == 4
