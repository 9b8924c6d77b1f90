from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from alerts.insights.sql import sqlite_register

        # The insights reports' percentile aggregate, on SQLite (PostgreSQL has one).
        connection_created.connect(sqlite_register, dispatch_uid="oncall_percentile")
