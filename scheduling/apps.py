from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # schema: registers the Bearer scheme with drf-spectacular (schema.py).
        # feed_admin, pay_admin: the iCal feeds' and pay pages, kept out of
        # admin.py.
        from scheduling import feed_admin, pay_admin, schema  # noqa: F401
