"""Handoff notes: the written record an outgoing on-call engineer leaves the
incoming one at every shift change.

``boundaries.py`` (the shift changes, from the effective schedule), ``draft.py``
(pre-filling a note at a boundary, idempotently), ``markdown.py`` (the note as
Markdown, and Markdown as safe HTML), ``actions.py`` (edit, submit, acknowledge,
auto-submit, remind), ``notify.py`` (SMS and email to the engineers), ``links.py``
(signed, expiring, single-use links).

These live in ``alerts`` rather than ``scheduling`` (where DESIGN.md §2 lists them)
because a note reads incidents, pages and maintenance windows and sends SMS, and
``scheduling`` may never import ``alerts``.
"""
