"""The lone-surrogate check reads the JSON text first and walks the parsed
document only when the text could hold a surrogate: the answer is the same as
walking every time."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.intake.parse import PayloadError, payload_from_json
from tests.alerts.conftest import recorded


def outcome(data: object, text: str | None) -> object:
    try:
        return payload_from_json(data, text=text)
    except PayloadError as exc:
        return exc.problems


def body_with(value: str, *, ensure_ascii: bool) -> str:
    data = json.loads(recorded("a_single_firing"))
    data["alerts"][0]["labels"]["instance"] = value
    data["commonAnnotations"][value] = "x"
    return json.dumps(data, ensure_ascii=ensure_ascii)


@pytest.mark.parametrize(
    "text",
    [
        body_with("db\ud800", ensure_ascii=True),  # \ud800 escaped
        body_with("db\ud800", ensure_ascii=True).replace("\\ud800", "\\uD800"),
        body_with("db\udfff", ensure_ascii=False),  # the character itself
        body_with("db🔥", ensure_ascii=True),  # a pair: escaped, fine
    ],
)
def test_a_text_that_may_hold_a_surrogate_is_walked(text):
    data = json.loads(text)
    assert outcome(data, text) == outcome(data, None)


def test_a_lone_surrogate_is_still_refused_with_the_text_given():
    text = body_with("db\ud800", ensure_ascii=True).replace("\\ud800", "\\uDA00")
    with pytest.raises(PayloadError) as refused:
        payload_from_json(json.loads(text), text=text)
    assert "alerts[0].labels.instance" in refused.value.problems


@given(
    value=st.text(
        alphabet=st.characters(
            min_codepoint=0xD000, max_codepoint=0xE0FF, exclude_categories=()
        ),
        max_size=4,
    ),
    ensure_ascii=st.booleans(),
)
def test_with_or_without_the_text_the_answer_is_the_same(value, ensure_ascii):
    text = body_with(value, ensure_ascii=ensure_ascii)
    data = json.loads(text)
    assert outcome(data, text) == outcome(data, None)
