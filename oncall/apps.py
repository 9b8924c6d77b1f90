from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "oncall service"

    def ready(self) -> None:
        # The project registers the apps' collectors: the apps never import oncall.
        from alerts.metrics import AlertsCollector
        from oncall.metrics import register_collector

        register_collector(AlertsCollector())

        from oncall import admin_widgets

        admin_widgets.install()
