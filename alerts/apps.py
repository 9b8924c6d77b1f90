from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts.metrics import AlertsCollector
        from oncall.metrics import register_collector

        register_collector(AlertsCollector())
