"""alerts: from an Alertmanager webhook to a phone ringing, and back.

Packages by concern, each a folder of small modules named for what they hold.
Imports point down only (checked by ``lint-imports`` in ``make test``; imports
inside functions count):

    interfaces   tasks.py · webhooks/ · api/ · admin/ · metrics.py · demo.py
       ↓
    intake/      parse, integrations, receive, wakeup, drain, batch, process,
                 rules, inbox, unprocessable, deadman
    paging/      messages, segments, gsm7, numbers, send, claims, limits, bundles,
                 status, replies, commands, callback_urls
       ↓
    incidents/   state (open, acknowledge, resolve...), escalate, maintenance
       ↓
    escalation/  policies, engine, claims
       ↓
    queue.py (publish work by task name, on commit) · timeline.py · selectors.py
       ↓
    models.py
       ↓
    routing.py (label matchers) · bulk_update.py (grouped UPDATEs) · leases.py
    (claiming due rows with a lease) · transports/
    (console, Twilio: the only importers of the Twilio SDK)

Services never import ``tasks.py``: they publish by task name through
``queue.py``, and ``tasks.py`` imports them.  Homes for what is coming:
``alerts/reports/`` (insights, SLO figures, postmortems), an interface.
"""
