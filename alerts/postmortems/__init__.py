"""Blameless postmortems drafted from resolved incidents.

``draft.py`` (create or return an incident's draft; link more incidents; the
timeline from their timeline entries), ``items.py`` (action items: add, finish,
the overdue list, reminding owners once), ``markdown.py`` (the export).
"""
