from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Registers the Bearer scheme with drf-spectacular (see schema.py).
        from scheduling import schema  # noqa: F401
