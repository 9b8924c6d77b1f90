"""``manage.py oncall_apply FILE.yaml``: make the database hold the file's
configuration (``alerts.configfile``), all or nothing.

A problem is reported as ``FILE:LINE:COLUMN: path: what is wrong`` and nothing
is written.  Applying the same file again changes nothing.  With ``--prune`` the
file is the whole truth for the sections it has: rotations, policies,
integrations and windows it does not name are deleted (never teams or members).
The tokens of integrations this run created are printed once (only their hashes
are kept).
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError

from alerts.configfile import ConfigError, Path, config_apply


def position(
    root: yaml.Node | None, path: Path, *, key: bool = False
) -> tuple[int, int] | None:
    """Line and column (1-based) of ``path`` in the composed document: the
    deepest node of the path that exists (with ``key``, the last key itself
    rather than its value)."""
    node, found = root, None
    for number, part in enumerate(path, start=1):
        if node is None:
            break
        found = node.start_mark
        child = None
        if isinstance(node, yaml.MappingNode):
            for name, value in node.value:
                if name.value == part:
                    child = value
                    found = name.start_mark
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                child = node.value[part]
        if child is None or (key and number == len(path)):
            break
        node = child
    else:
        found = node.start_mark if node is not None else found
    if found is None:
        return None
    return found.line + 1, found.column + 1


class Command(BaseCommand):
    help = "Apply a configuration file (as written by oncall_export); idempotent."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="also delete the rotations, escalation policies, integrations and "
            "maintenance windows that the file's sections do not name",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            with open(name, encoding="utf-8") as source:
                text = source.read()
        except OSError as exc:
            raise CommandError(f"{name}: {exc.strerror}") from None
        try:
            document = yaml.safe_load(text)
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
            raise CommandError(f"{where}: not valid YAML: {exc}") from None
        try:
            report = config_apply(document or {}, prune=options["prune"])
        except ConfigError as exc:
            at = position(root, exc.path, key=exc.key)
            where = f"{name}:{at[0]}:{at[1]}" if at else name
            raise CommandError(f"{where}: {exc.where()}: {exc.message}") from None
        for created in report.created:
            self.stdout.write(f"created {created}")
        for slug, token in report.tokens.items():
            self.stdout.write(
                f"integration {slug}: its token, shown this once: {token}"
            )
        for deleted in report.deleted:
            self.stdout.write(f"deleted {deleted}")
        if not report.created and not report.deleted:
            self.stdout.write("applied; nothing created")
