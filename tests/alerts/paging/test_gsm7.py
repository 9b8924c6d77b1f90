from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerts.paging.gsm7 import gsm7_safe, is_gsm7, septets
from alerts.paging.segments import fit

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


@given(
    st.text(alphabet=st.characters(max_codepoint=0x24F), max_size=400),
    st.text(alphabet="abc ACK-,0123456789", max_size=60),
)
def test_fit_gives_one_gsm7_segment_when_the_text_has_a_gsm7_spelling(head, tail):
    """(Text that has none goes as UCS-2: tests/alerts/paging/test_sms_segments.py.)"""
    body = fit(head, tail)
    if is_gsm7(body):
        assert septets(body) <= 160
        assert body.endswith(tail)
