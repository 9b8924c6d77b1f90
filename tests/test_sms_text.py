from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerts.paging.gsm7 import GSM7_BASIC, GSM7_EXTENDED, fit, gsm7_safe, septets

TAIL = " - reply ACK 42, RES 42, ESC 42"


def test_it_replaces_characters_that_would_force_ucs2():
    assert gsm7_safe("“Disk” full — 95% … ✓") == '"Disk" full - 95% ... ?'
    assert gsm7_safe("Café naïve") == "Café naive"  # é is GSM-7, ï is not


def test_a_short_message_is_left_alone():
    assert fit("oncall #42 [CRIT] HighErrorRate payments", TAIL) == (
        "oncall #42 [CRIT] HighErrorRate payments" + TAIL
    )


def test_a_long_head_is_cut_but_the_reply_instructions_stay():
    body = fit("oncall #42 [CRIT] " + "x" * 300, TAIL)
    assert body.endswith("x.." + TAIL)
    assert septets(body) == 160


@given(st.text(max_size=400), st.text(max_size=60))
def test_fit_always_gives_one_gsm7_segment(head, tail):
    body = fit(head, tail)
    assert all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body)
    if septets(gsm7_safe(tail)) < 150:
        assert septets(body) <= 160
        assert body.endswith(gsm7_safe(tail))
