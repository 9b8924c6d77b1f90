"""Fitting an SMS into its segment budget, in GSM-7 or, when the text needs it, UCS-2.

An SMS is sent in one of two encodings, and Twilio picks it from the text itself:

* **GSM-7** when every character is in the GSM 03.38 alphabet (``gsm7.py``): 160
  septets in one segment.  Text that has a GSM-7 spelling without losing a letter
  is sent that way (curly quotes straightened, "ï" as "i"): one segment instead
  of a UCS-2 message three times as long.
* **UCS-2** otherwise (an alert named in Cyrillic, Greek, Chinese, or with an
  emoji): 70 UTF-16 code units in one segment, 67 per segment once a message is
  split (the rest carries the header that joins the parts).  Such a page may use
  ``UCS2_SEGMENTS`` (2) segments, 134 code units: about as much text as one GSM-7
  segment, where one 70-unit segment would leave the alert's name and summary
  half the room of the reply instructions.

Either way the *tail* (how to answer: ``reply ACK 42``) is kept whole and the head
is shortened, marked with ``..``, never cutting an emoji or an accent in half.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from alerts.paging.gsm7 import SEGMENT_SEPTETS, gsm7_transliterate, septets

UCS2_SINGLE = 70  # UTF-16 code units in a message of one segment
UCS2_PART = 67  # ... in each part of a message of several segments
UCS2_SEGMENTS = 2  # the budget of a UCS-2 page, in segments
CUT_MARK = ".."  # where a long head was shortened ("~" would cost two septets)


@dataclass(frozen=True)
class Encoding:
    name: str  # "GSM-7" or "UCS-2"
    limit: int  # the budget, in septets (GSM-7) or UTF-16 code units (UCS-2)


GSM7 = Encoding("GSM-7", SEGMENT_SEPTETS)
UCS2 = Encoding("UCS-2", UCS2_PART * UCS2_SEGMENTS)


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units: a character beyond the BMP (most emoji) is two."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def ucs2_segments(text: str) -> int:
    units = utf16_units(text)
    if units <= UCS2_SINGLE:
        return 1
    return -(-units // UCS2_PART)


def gsm7_segments(text: str) -> int:
    length = septets(text)
    return 1 if length <= SEGMENT_SEPTETS else -(-length // 153)


def sms_segments(text: str) -> int:
    """How many segments ``text`` is sent as (what Twilio bills)."""
    if gsm7_transliterate(text) == text:
        return gsm7_segments(text)
    return ucs2_segments(text)


def _ucs2_clean(text: str) -> str:
    # Control characters and lone surrogates cannot be sent; line breaks can.
    return "".join(
        " "
        if unicodedata.category(char) in ("Cc", "Cs") and char not in "\n\r"
        else char
        for char in text
    )


def _joins_previous(char: str) -> bool:
    """A character that belongs to the one before it: an accent, a variation
    selector, a skin tone, or the character after a zero-width joiner."""
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) == "Mn"
        or 0xFE00 <= ord(char) <= 0xFE0F
        or 0x1F3FB <= ord(char) <= 0x1F3FF
        or char == "\u200d"
    )


def _cut(head: str, room: int, cost: Callable[[str], int]) -> str:
    kept: list[str] = []
    used = 0
    for char in head:
        used += cost(char)
        if used > room:
            break
        kept.append(char)
    # Never leave half a character on screen: drop the pieces of a cluster whose
    # next piece did not fit, and a trailing joiner.
    rest = head[len(kept) :]
    while kept and rest and _joins_previous(rest[0]):
        rest = kept.pop() + rest
    while kept and kept[-1] == "\u200d":
        kept.pop()
    return "".join(kept)


def fit(head: str, tail: str = "") -> str:
    """``head`` + ``tail`` within the budget of the encoding the text needs,
    shortening ``head`` (never ``tail``, which carries how to answer)."""
    gsm_head, gsm_tail = gsm7_transliterate(head), gsm7_transliterate(tail)
    if gsm_head is not None and gsm_tail is not None:
        room = GSM7.limit - septets(gsm_tail)
        if septets(gsm_head) <= room:
            return gsm_head + gsm_tail
        cut = _cut(gsm_head, room - septets(CUT_MARK), septets)
        return cut + CUT_MARK + gsm_tail
    head, tail = _ucs2_clean(head), _ucs2_clean(tail)
    room = UCS2.limit - utf16_units(tail)
    if utf16_units(head) <= room:
        return head + tail
    cut = _cut(head, room - len(CUT_MARK), utf16_units)
    return cut + CUT_MARK + tail
