from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.cast import utc

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("oncall_now", *args, stdout=out)
    return out.getvalue()


def test_it_prints_who_is_on_call_in_team_time(payments, make_rotation):
    team, people = payments
    make_rotation(team, people, now=utc(2026, 1, 1))
    text = run("payments", "--at", "2026-01-27T12:00:00+03:00")
    assert "primary:   Bob (bob," in text
    assert "secondary: Alice (alice," in text
    assert "Mon 2026-01-26 09:00 EAT -> Mon 2026-02-02 09:00 EAT" in text
    assert "override:  no" in text


def test_it_refuses_an_unknown_team_listing_the_known_ones(payments):
    with pytest.raises(CommandError, match="no team 'nope' .*payments"):
        run("nope")


def test_it_refuses_a_naive_time(payments):
    with pytest.raises(CommandError, match="no UTC offset"):
        run("payments", "--at", "2026-01-27T12:00")


def test_it_says_nobody_when_no_one_is_on_call(payments):
    assert "primary:   nobody" in run("payments", "--at", "2026-01-27T12:00Z")
