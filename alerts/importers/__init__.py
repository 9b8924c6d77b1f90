"""Importers: read another on-call product's public REST API and apply what it
holds through :mod:`alerts.configfile` (the same idempotent path as
``manage.py oncall_apply``), then check who is on call against the source."""
