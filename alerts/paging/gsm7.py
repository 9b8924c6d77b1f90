"""The GSM 03.38 alphabet (GSM-7): what fits in a 160-character SMS segment.

A single character outside it (an emoji, a Cyrillic or CJK letter, a curly quote)
makes the whole message UCS-2, where a segment holds 70 characters instead of 160.
:func:`gsm7_transliterate` gives the GSM-7 spelling of a text when there is one
without losing letters (curly quotes become straight ones, "ï" becomes "i"); the
choice between the two encodings is made in ``segments.py``.
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


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text)


def _spell(char: str) -> str | None:
    """The GSM-7 spelling of one character, or None when it has none."""
    if char in GSM7_BASIC or char in GSM7_EXTENDED:
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    # é, ü and friends that are in GSM-7 stay; others lose their accents.
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    )
    if stripped and is_gsm7(stripped):
        return stripped
    if unicodedata.category(char).startswith(("Z", "C")):
        return " "  # other spaces, control and format characters
    return None


def gsm7_transliterate(text: str) -> str | None:
    """``text`` in GSM-7 characters, or None when a letter has no GSM-7 spelling
    (Cyrillic, most Greek, CJK, emoji): that text needs UCS-2."""
    out: list[str] = []
    for char in text:
        spelled = _spell(char)
        if spelled is None:
            return None
        out.append(spelled)
    return "".join(out)


def gsm7_safe(text: str) -> str:
    """``text`` in GSM-7 characters whatever it holds (``?`` where a letter has no
    GSM-7 spelling)."""
    return "".join(_spell(char) or "?" for char in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets (extension characters count twice)."""
    return sum(2 if char in GSM7_EXTENDED else 1 for char in text)
