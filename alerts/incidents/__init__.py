"""Incidents: the state changes of an incident, and the people acting on them.

``state.py`` opens, reopens, acknowledges and resolves incidents and ends their
maintenance, each with its timeline entry and one hook into the escalation engine;
``escalate.py`` is "escalate now"; ``maintenance.py`` starts the chains that a
maintenance window held once it ends.

Called by intake, paging (replies), the API and the admin; calls down into
``alerts.escalation``.
"""
