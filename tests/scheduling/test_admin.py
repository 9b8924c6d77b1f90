from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from scheduling.models import Override, Rotation, Shift
from tests.cast import utc

pytestmark = pytest.mark.django_db


def rotation_form(team, people, **overrides):
    data = {
        "team": team.pk,
        "name": "weekly",
        "scheme": "paired",
        "active": "on",
        "layer": "1",
        "shift_length": "1",
        "shift_unit": "weeks",
        "start_date": "2026-01-05",
        "handoff_weekday": "0",
        "handoff_time": "09:00",
        "time_zone": "",
        "restrict_start": "",
        "restrict_end": "",
        "rotationparticipant_set-TOTAL_FORMS": str(len(people)),
        "rotationparticipant_set-INITIAL_FORMS": "0",
        "rotationparticipant_set-MIN_NUM_FORMS": "0",
        "rotationparticipant_set-MAX_NUM_FORMS": "1000",
    }
    for i, member in enumerate(people):
        data[f"rotationparticipant_set-{i}-position"] = str(i)
        data[f"rotationparticipant_set-{i}-member"] = str(member.pk)
    data.update(overrides)
    return data


def test_adding_a_rotation_materializes_its_shifts(admin_client, payments):
    team, people = payments
    response = admin_client.post(
        "/admin/scheduling/rotation/add/", rotation_form(team, people)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rotation = Rotation.objects.get()
    assert Shift.objects.filter(rotation=rotation).count() > 0
    assert rotation.generated_until is not None


def test_an_odd_paired_roster_is_a_form_error(admin_client, payments):
    team, people = payments
    response = admin_client.post(
        "/admin/scheduling/rotation/add/", rotation_form(team, people[:5])
    )
    assert response.status_code == 200
    assert "even number of participants" in response.content.decode()
    assert not Rotation.objects.exists()


def test_a_participant_outside_the_team_is_a_form_error(
    admin_client, payments, make_member
):
    team, people = payments
    stranger = make_member("zed")
    response = admin_client.post(
        "/admin/scheduling/rotation/add/", rotation_form(team, [*people[:5], stranger])
    )
    assert "Not members of the team: Zed" in response.content.decode()


def test_the_preview_shows_twelve_shifts_without_saving(admin_client, payments):
    team, people = payments
    response = admin_client.post(
        "/admin/scheduling/rotation/add/preview/", rotation_form(team, people)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<tr><td>") == 12
    assert "Alice" in html and "Frank" in html
    assert not Rotation.objects.exists()


def test_the_preview_of_a_change_reports_problems(
    admin_client, payments, make_rotation
):
    team, people = payments
    rotation = make_rotation(team, people)
    data = rotation_form(team, people[:3], scheme="paired")
    response = admin_client.post(
        f"/admin/scheduling/rotation/{rotation.pk}/change/preview/", data
    )
    assert "even number" in response.content.decode()
    assert rotation.rotationparticipant_set.count() == 6


def test_the_change_page_shows_the_next_shifts(admin_client, payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people)
    html = admin_client.get(f"/admin/scheduling/rotation/{rotation.pk}/change/").content
    assert b"oncall-preview" in html
    assert b'formaction="preview/"' in html


def test_generate_shifts_now_action(admin_client, payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people, materialize=False)
    response = admin_client.post(
        "/admin/scheduling/rotation/",
        {"action": "generate_shifts_now", "_selected_action": [rotation.pk]},
        follow=True,
    )
    assert "brought up to date" in response.content.decode()
    assert Shift.objects.filter(rotation=rotation).exists()


def test_an_override_clash_is_a_form_error(admin_client, payments, make_rotation):
    team, (alice, bob, *_) = payments
    rotation = make_rotation(team, payments[1], now=utc(2026, 1, 1))
    response = admin_client.post(
        "/admin/scheduling/override/add/",
        {
            "rotation": rotation.pk,
            "role": "primary",
            "member": bob.pk,
            "starts_at_0": "2026-01-06",
            "starts_at_1": "06:00:00",
            "ends_at_0": "2026-01-07",
            "ends_at_1": "06:00:00",
            "reason": "",
        },
    )
    assert response.status_code == 200
    assert "Bob is secondary" in response.content.decode()
    assert not Override.objects.exists()


def test_an_override_is_created_through_the_admin(
    admin_client, admin_user, payments, make_rotation
):
    team, people = payments
    rotation = make_rotation(team, people, now=utc(2026, 1, 1))
    response = admin_client.post(
        "/admin/scheduling/override/add/",
        {
            "rotation": rotation.pk,
            "role": "primary",
            "member": people[4].pk,
            "starts_at_0": "2026-01-06",
            "starts_at_1": "09:00:00",
            "ends_at_0": "2026-01-07",
            "ends_at_1": "09:00",
            "reason": "covering",
        },
    )
    assert response.status_code == 302
    override = Override.objects.get()
    assert override.created_by == admin_user
    # Typed in the team's time: 09:00 in Nairobi is 06:00 UTC.
    assert override.starts_at == utc(2026, 1, 6, 6)
    page = admin_client.get(f"/admin/scheduling/override/{override.pk}/change/")
    assert b'value="09:00:00"' in page.content  # shown back in local time


def test_a_local_time_the_clocks_skip_is_refused(
    admin_client, make_team, make_rotation
):
    team, people = make_team("berlin", time_zone="Europe/Berlin", people=["ann", "ben"])
    rotation = make_rotation(team, people, now=utc(2026, 3, 1))
    response = admin_client.post(
        "/admin/scheduling/override/add/",
        {
            "rotation": rotation.pk,
            "role": "primary",
            "member": people[1].pk,
            "starts_at_0": "2026-03-29",
            "starts_at_1": "02:30",
            "ends_at_0": "2026-03-30",
            "ends_at_1": "09:00",
        },
    )
    assert "does not exist in Europe/Berlin" in response.content.decode()


def test_a_swap_is_created_from_its_admin_page(admin_client, payments, make_rotation):
    team, (alice, bob, *_) = payments
    rotation = make_rotation(team, payments[1], now=utc(2026, 1, 1))
    assert b"Create a swap" in admin_client.get("/admin/scheduling/override/").content
    form = {
        "rotation": rotation.pk,
        "reason": "alice on a train",
        "first_member": bob.pk,
        "first_role": "primary",
        "first_starts_at_0": "2026-01-06",
        "first_starts_at_1": "09:00",
        "first_ends_at_0": "2026-01-07",
        "first_ends_at_1": "09:00",
        "second_member": alice.pk,
        "second_role": "secondary",
    }
    response = admin_client.post("/admin/scheduling/override/swap/", form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    overrides = list(Override.objects.order_by("role"))
    assert [(o.role, o.member, o.starts_at) for o in overrides] == [
        ("primary", bob, utc(2026, 1, 6, 6)),
        ("secondary", alice, utc(2026, 1, 6, 6)),
    ]
    assert overrides[0].swap_id == overrides[1].swap_id


def test_a_one_sided_swap_is_refused(admin_client, payments, make_rotation):
    team, (alice, bob, charlie, *_) = payments
    rotation = make_rotation(team, payments[1], now=utc(2026, 1, 1))
    response = admin_client.post(
        "/admin/scheduling/override/swap/",
        {
            "rotation": rotation.pk,
            "first_member": bob.pk,
            "first_role": "primary",
            "first_starts_at_0": "2026-01-06",
            "first_starts_at_1": "09:00",
            "first_ends_at_0": "2026-01-07",
            "first_ends_at_1": "09:00",
            "second_member": charlie.pk,
            "second_role": "primary",
            "second_starts_at_0": "2026-01-13",
            "second_starts_at_1": "09:00",
            "second_ends_at_0": "2026-01-14",
            "second_ends_at_1": "09:00",
        },
    )
    assert response.status_code == 200
    assert "Bob is secondary" in response.content.decode()
    assert not Override.objects.exists()


def test_shifts_are_read_only(admin_client, payments, make_rotation):
    team, people = payments
    make_rotation(team, people)
    assert admin_client.get("/admin/scheduling/shift/").status_code == 200
    assert admin_client.get("/admin/scheduling/shift/add/").status_code == 403
    shift = Shift.objects.first()
    page = admin_client.get(f"/admin/scheduling/shift/{shift.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_the_schedule_picture_marks_overrides_and_now(
    admin_client, payments, make_rotation
):
    from scheduling.overrides import override_create

    team, people = payments
    rotation = make_rotation(team, people)
    now = dt.datetime.now(dt.UTC)
    override_create(
        rotation=rotation,
        role="primary",
        member=[p for p in people if p.pk != _secondary_now(team, now)][0],
        starts_at=now + dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=5),
        reason="dentist",
    )
    html = admin_client.get(
        f"/admin/scheduling/team/{team.pk}/schedule/"
    ).content.decode()
    assert 'class="sched-nowline"' in html
    assert "bar override" in html
    assert "override: dentist" in html
    assert "On call now" in html


def _secondary_now(team, now):
    from scheduling.selectors import oncall_at

    answer = oncall_at(team=team, at=now + dt.timedelta(hours=1))
    return answer.secondary.pk


def test_the_schedule_picture_of_a_team_without_rotations(admin_client, make_team):
    team, _ = make_team("empty", people=["ann"])
    html = admin_client.get(f"/admin/scheduling/team/{team.pk}/schedule/").content
    assert b"no rotations yet" in html
    assert b"Nobody is on call" in html


def test_a_restriction_is_set_with_weekday_checkboxes(admin_client, payments):
    team, people = payments
    data = rotation_form(
        team,
        people[:2],
        scheme="primary_only",
        shift_unit="days",
        handoff_weekday="",
        restrict_start="09:00",
        restrict_end="17:00",
    )
    data["restrict_weekdays"] = ["0", "1", "2", "3", "4"]
    response = admin_client.post("/admin/scheduling/rotation/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rotation = Rotation.objects.get()
    assert rotation.restrict_weekdays == "01234"
    page = admin_client.get(f"/admin/scheduling/rotation/{rotation.pk}/change/")
    assert re.search(rb'value="4" id="id_restrict_weekdays_4" checked', page.content)
    assert not re.search(
        rb'value="5" id="id_restrict_weekdays_5" checked', page.content
    )


def test_changing_the_team_time_zone_moves_future_handoffs(
    admin_client, payments, make_rotation
):
    team, people = payments
    rotation = make_rotation(team, people)
    response = admin_client.post(
        f"/admin/scheduling/team/{team.pk}/change/",
        {
            "slug": team.slug,
            "name": team.name,
            "time_zone": "Europe/London",
            "teammembership_set-TOTAL_FORMS": "0",
            "teammembership_set-INITIAL_FORMS": "0",
            "rotations-TOTAL_FORMS": "0",
            "rotations-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert "were regenerated" in response.content.decode()
    bridge, future = Shift.objects.filter(
        rotation=rotation, role="primary", starts_at__gt=dt.datetime.now(dt.UTC)
    ).order_by("starts_at")[:2]
    # The shift under way ends at Nairobi's 09:00 as it was scheduled; a bridge
    # runs to London's 09:00; from then on handoffs are at 09:00 London time.
    zone = ZoneInfo("Europe/London")
    assert bridge.ends_at == future.starts_at
    assert future.starts_at.astimezone(zone).time() == dt.time(9, 0)
    assert (future.ends_at - future.starts_at) in (
        dt.timedelta(hours=167),
        dt.timedelta(hours=168),
        dt.timedelta(hours=169),
    )


def test_an_inactive_participant_is_flagged(admin_client, payments, make_rotation):
    team, people = payments
    rotation = make_rotation(team, people)
    people[2].active = False
    people[2].save()
    response = admin_client.get(
        f"/admin/scheduling/rotation/{rotation.pk}/change/", follow=True
    )
    assert "Inactive members are still in this rotation" in response.content.decode()


def test_a_rotation_with_history_cannot_be_deleted(
    admin_client, payments, make_rotation
):
    team, people = payments
    old = make_rotation(team, people)  # started 5 Jan 2026: has history
    fresh = make_rotation(
        team, people, name="next year", start_date=dt.date(2030, 1, 7)
    )
    page = admin_client.get(f"/admin/scheduling/rotation/{old.pk}/delete/")
    assert page.status_code == 403
    # Django refuses the whole bulk delete when any selected object is protected.
    data = {"action": "delete_selected", "post": "yes"}
    response = admin_client.post(
        "/admin/scheduling/rotation/", {**data, "_selected_action": [old.pk, fresh.pk]}
    )
    assert response.status_code == 403
    admin_client.post(
        "/admin/scheduling/rotation/", {**data, "_selected_action": [fresh.pk]}
    )
    assert list(Rotation.objects.values_list("name", flat=True)) == ["weekly"]


def test_a_member_page_shows_their_next_stint(admin_client, payments, make_rotation):
    team, people = payments
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date()
    rotation = make_rotation(team, people, start_date=soon, handoff_weekday=0)
    week2 = rotation.anchor() + dt.timedelta(weeks=1)  # charlie's first week
    page = admin_client.get(f"/admin/scheduling/member/{people[2].pk}/change/")
    assert f"primary for Payments (weekly) from {week2:%a %d %b %Y} 09:00 EAT" in (
        page.content.decode()
    )
