"""SMS text that fits one GSM-7 segment.

A single character outside the GSM 03.38 alphabet (a curly quote, an em dash, an
emoji in an alert's summary) switches the whole message to UCS-2, which cuts a
segment from 160 to 70 characters and can split a page into several SMS that arrive
out of order.  So every page body goes through :func:`gsm7_safe` and :func:`fit`.
"""

from __future__ import annotations

import unicodedata

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


# Characters of the extension table: each costs two septets (escape + char).
GSM7_EXTENDED = set("^{}\\[~]|€\f")


SEGMENT_SEPTETS = 160


CUT_MARK = ".."  # where a long head was shortened ("~" would cost two septets)


_REPLACEMENTS = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "–": "-",
    "—": "-",
    "−": "-",
    "‐": "-",
    "…": "...",
    "•": "*",
    "·": ".",
    "\t": " ",
    "\u00a0": " ",
    "×": "x",
    "÷": "/",
    "≥": ">=",
    "≤": "<=",
    "→": "->",
    "←": "<-",
    "`": "'",
}


def gsm7_safe(text: str) -> str:
    """Return ``text`` using only GSM-7 characters (nearest ASCII, else ``?``)."""
    out: list[str] = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENDED:
            out.append(char)
            continue
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
            continue
        # é, ü and friends that are in GSM-7 stay; others lose their accents.
        stripped = "".join(
            c
            for c in unicodedata.normalize("NFKD", char)
            if not unicodedata.combining(c)
        )
        if stripped and all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in stripped):
            out.append(stripped)
        elif unicodedata.category(char).startswith(("Z", "C")):
            out.append(" ")
        else:
            out.append("?")
    return "".join(out)


def septets(text: str) -> int:
    """Length in GSM-7 septets (extension characters count twice)."""
    return sum(2 if char in GSM7_EXTENDED else 1 for char in text)


def fit(head: str, tail: str = "", limit: int = SEGMENT_SEPTETS) -> str:
    """``head`` + ``tail`` in one segment, shortening ``head`` (never ``tail``).

    ``tail`` carries what the reader must not lose: how to answer.
    """
    head, tail = gsm7_safe(head), gsm7_safe(tail)
    room = limit - septets(tail)
    if septets(head) <= room:
        return head + tail
    kept: list[str] = []
    used = 0
    for char in head:
        cost = septets(char)
        if used + cost > room - septets(CUT_MARK):
            break
        kept.append(char)
        used += cost
    return "".join(kept) + CUT_MARK + tail
