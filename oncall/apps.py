from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "oncall service"

    def ready(self) -> None:
        # The project registers the apps' collectors: the apps never import oncall.
        from alerts.metrics import AlertsCollector
        from oncall.metrics import register_collector
        from scheduling.metrics import SchedulingCollector

        register_collector(AlertsCollector())
        register_collector(SchedulingCollector())

        from django.contrib import admin

        from oncall import admin_guards
        from oncall.admin_login import ThrottledAdminAuthenticationForm

        admin_guards.install()
        admin.site.login_form = ThrottledAdminAuthenticationForm
