"""The rotation page says plainly how much of their time the scheme keeps each
person on call, and what would bring it within 25 %."""

from __future__ import annotations

from scheduling.rota_share import scheme_advice, scheme_share
from tests.cast import utc


def test_the_six_person_paired_scheme_is_a_third_of_the_time():
    assert round(scheme_share(roles=2, people=6), 4) == 0.3333
    advice = scheme_advice(roles=2, people=6)
    assert "each is on call 2 periods in 6 (33% of the time)" in advice
    assert "add 2 more people (at least 8)" in advice
    assert "take the secondary from another site (then 17% each here)" in advice


def test_at_25_percent_it_is_within_the_limit_and_above_it_is_not():
    assert scheme_advice(roles=2, people=8).endswith("within the 25% limit.")
    assert scheme_advice(roles=1, people=4).endswith("within the 25% limit.")
    assert "To fix it: add 1 more people (at least 4)" in scheme_advice(
        roles=1, people=3
    )
    assert scheme_share(roles=2, people=0) is None


def test_the_rotation_admin_page_shows_it(admin_client, team, people, make_rotation):
    rotation = make_rotation(team, people, now=utc(2026, 1, 1))
    page = admin_client.get(f"/admin/scheduling/rotation/{rotation.pk}/change/")
    assert page.status_code == 200
    assert "each is on call 2 periods in 6 (33% of the time)" in page.content.decode()
