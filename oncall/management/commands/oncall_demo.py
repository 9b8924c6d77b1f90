from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from oncall.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo organisation (team 'payments', six people, admin/admin)."

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        if not settings.DEBUG:
            raise CommandError(
                "oncall_demo creates the admin/admin login and only runs with DEBUG on"
            )
        result = demo_load()
        if result.created:
            self.stdout.write("created: " + ", ".join(result.created))
        else:
            self.stdout.write("demo organisation already loaded; nothing changed")
        self.stdout.write(
            "log in at /admin/ as admin / admin; team "
            f"'{result.team.slug}' has {len(result.members)} members"
        )
        for note in result.notes:
            self.stdout.write(note)
