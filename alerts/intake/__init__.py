"""Intake: from an Alertmanager webhook to alerts and incidents.

``webhooks/alertmanager.py`` (the view) → ``parse.py`` (validate the payload) →
``integrations.py`` (which integration the token belongs to) → ``receive.py`` (one
INSERT into the inbox, committed, answered 2xx) → ``wakeup.py`` (make sure a task
will process it, without publishing one per webhook in a storm) → the task runs
``drain.py`` (process the inbox in bulk ``batch.py`` rounds, falling back to one
delivery at a time in ``process.py``; both apply the rules in ``rules.py``).
``inbox.py`` re-publishes what nobody processed and prunes old deliveries;
``unprocessable.py`` pages about a delivery that could not be processed;
``deadman.py`` is the dead man's switch on Alertmanager's heartbeat alert.

Calls down into ``alerts.incidents`` (open, reopen, resolve); never into paging.
"""
