"""``manage.py oncall_token USERNAME``: make an API token from the shell (e.g. the
first one of an admin, before any token exists to call the API with)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from scheduling.timeparse import InstantError, parse_instant
from scheduling.tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Make an API token for a user and print its secret (shown this once; "
        "only its hash is stored)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="made with manage.py oncall_token")
        parser.add_argument(
            "--read-only",
            action="store_true",
            help='scopes ["read"] (default: read, write)',
        )
        parser.add_argument(
            "--expires", help="ISO 8601 with a UTC offset or Z; default: never"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        try:
            expires_at = (
                parse_instant(options["expires"]) if options["expires"] else None
            )
        except InstantError as exc:
            raise CommandError(f"--expires: {exc}") from None
        scopes = ["read"] if options["read_only"] else ["read", "write"]
        try:
            issued = api_token_create(
                user=user,
                name=options["name"],
                scopes=scopes,
                expires_at=expires_at,
                created_by=None,
                now=timezone.now(),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(
            f"token {issued.token.pk} for {user.get_username()} "
            f"({', '.join(scopes)}); it is shown only now:"
        )
        self.stdout.write(issued.secret)
