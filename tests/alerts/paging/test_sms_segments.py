"""Page SMS in the encoding their text needs: GSM-7 when it can be spelled in it,
else UCS-2 within two segments, never "?" in place of a letter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.paging.gsm7 import is_gsm7, septets
from alerts.paging.segments import (
    UCS2_PART,
    UCS2_SEGMENTS,
    fit,
    sms_segments,
    utf16_units,
)
from tests.alerts.conftest import drive, open_incident
from tests.cast import PHONES

TAIL = " - reply ACK 42, RES 42, ESC 42"

NAMES = {
    "cyrillic": "ВысокаяЗагрузкаЦП",
    "greek": "υψηλόφορτίοεπεξεργαστή",
    "cjk": "数据库连接池耗尽",
    "emoji": "PaymentsDown🔥🚨",
}


@pytest.mark.parametrize("script", sorted(NAMES))
def test_a_non_gsm7_alert_name_reaches_twilio_intact(
    script, integration, policy, alice, fake_twilio
):
    name = NAMES[script]
    incident = open_incident(integration, alertname=name, summary="как есть 🙂")
    drive()
    [message] = fake_twilio.messages(to=PHONES["alice"])
    assert f"oncall #{incident.pk} [CRIT] {name} payments" in message.body
    assert "?" not in message.body
    assert message.body.endswith(
        f" - reply ACK {incident.pk}, RES {incident.pk}, ESC {incident.pk}"
    )
    assert sms_segments(message.body) <= UCS2_SEGMENTS


def test_a_long_ucs2_summary_is_cut_to_two_segments_keeping_the_reply_words(
    integration, policy, alice, fake_twilio
):
    incident = open_incident(
        integration, alertname=NAMES["cjk"], summary="连接池耗尽，请检查数据库。" * 20
    )
    drive()
    body = fake_twilio.messages()[0].body
    assert utf16_units(body) <= UCS2_PART * UCS2_SEGMENTS
    assert sms_segments(body) == 2
    assert body.endswith(
        f".. - reply ACK {incident.pk}, RES {incident.pk}, ESC {incident.pk}"
    )


def test_text_with_a_gsm7_spelling_stays_one_gsm7_segment():
    body = fit("“Disk” full — 95% … naïve", TAIL)
    assert body == '"Disk" full - 95% ... naive' + TAIL
    assert is_gsm7(body)


def test_an_emoji_is_never_cut_in_half():
    # 👩‍💻 is three code points joined by a zero-width joiner; a flag is two.
    head = "oncall #42 " + "👩‍💻🇰🇪" * 40
    body = fit(head, TAIL)
    kept = body[: -len(".." + TAIL)]
    assert kept.endswith("🇰🇪") or kept.endswith("👩‍💻")
    assert utf16_units(body) <= UCS2_PART * UCS2_SEGMENTS


@given(st.text(max_size=400), st.text(max_size=40))
def test_fit_stays_within_the_budget_of_its_encoding_and_keeps_the_tail(head, tail):
    body = fit(head, tail)
    if is_gsm7(body):
        assert septets(body) <= 160
    else:
        assert utf16_units(body) <= UCS2_PART * UCS2_SEGMENTS
    assert "\x00" not in body
