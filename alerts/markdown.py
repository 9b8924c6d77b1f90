"""Markdown as safe HTML, for the written records (handoff notes, postmortems).

markdown-it-py with raw HTML switched off: whatever an engineer typed is escaped,
never interpreted, so a note cannot inject script into the admin or the member
pages.  :func:`escape` makes free text literal inside generated Markdown.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

_renderer = MarkdownIt("commonmark", {"html": False}).enable("table")


def render_html(markdown: str) -> str:
    """Safe HTML of ``markdown`` (raw HTML in it is escaped)."""
    return _renderer.render(markdown)


def escape(text: str) -> str:
    """``text`` as literal inline Markdown on one line (no accidental emphasis,
    links, headings, table cells or HTML)."""
    for ch in "\\`*_{}[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())
