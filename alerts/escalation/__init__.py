"""Escalation: who is paged when, decided by the database.

``policies.py`` (which policy an incident follows, whom each step pages, by which
channels and when: urgency and business hours),
``engine.py`` (start, advance, stop a chain; fall through when a page goes
unanswered; write the pages of a fired step), ``claims.py`` (the sweep's claim on
due steps, with a lease).  Sending the pages is ``alerts.paging``'s job: the engine
only writes them and publishes work by task name (``alerts.queue``).
"""
