"""``manage.py oncall_export [FILE]``: the whole configuration as YAML (stdout by
default), for ``oncall_apply``.  No secrets: integrations' tokens stay behind."""

from __future__ import annotations

import argparse
from typing import Any

import yaml
from django.core.management.base import BaseCommand

from alerts.configfile import config_export


class Command(BaseCommand):
    help = "Write the organisation's configuration as YAML (for oncall_apply)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", nargs="?", help="write here instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        text = yaml.safe_dump(
            config_export(), sort_keys=False, allow_unicode=True, width=88
        )
        if options["file"]:
            with open(options["file"], "w", encoding="utf-8") as out:
                out.write(text)
        else:
            self.stdout.write(text, ending="")
