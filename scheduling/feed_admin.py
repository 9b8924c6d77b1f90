"""The admin's page of iCal feeds (*Scheduling → iCal feeds*): which feeds
exist, when and by which client each was last fetched; make one (its URL is
shown this once), rotate its token, revoke it.  Registered by ``apps.py``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from scheduling.feeds import IssuedFeed, feed_create, feed_revoke, feed_rotate
from scheduling.models import FeedToken


class FeedForm(forms.ModelForm):
    class Meta:
        model = FeedToken
        fields = ["member", "team", "rotation", "owner"]
        help_texts = {
            "owner": "Who manages the feed (for a member's feed: leave blank, "
            "the member).",
        }

    owner = forms.ModelChoiceField(
        # FeedToken.owner's model (settings.AUTH_USER_MODEL).
        queryset=get_user_model().objects.all(),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        given = [f for f in ("member", "team", "rotation") if data.get(f)]
        if len(given) != 1:
            raise ValidationError("Choose exactly one: a member, a team or a rotation.")
        return data


def _announce(request: HttpRequest, issued: IssuedFeed, what: str) -> None:
    messages.success(
        request,
        format_html(
            "{} — copy the URL now, it is shown this once: <code>{}</code> "
            "(calendar apps: <code>{}</code>)",
            what,
            issued.url,
            issued.webcal_url,
        ),
    )


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    form = FeedForm
    list_display = ["__str__", "owner", "created_at", "last_fetch", "revoked_at"]
    list_filter = ["revoked_at"]
    actions = ["rotate_tokens", "revoke_feeds"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list:
        if obj is None:
            return []
        return [
            "member",
            "team",
            "rotation",
            "owner",
            "token_hint",
            "created_at",
            "last_fetch",
            "revoked_at",
        ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list:
        if obj is None:
            return ["member", "team", "rotation", "owner"]
        return self.get_readonly_fields(request, obj)

    @admin.display(description="last fetched")
    def last_fetch(self, obj: FeedToken) -> str:
        if obj.last_polled_at is None:
            return "never"
        client = obj.last_user_agent or "an unnamed client"
        return f"{client} fetched this {timesince(obj.last_polled_at)} ago"

    def save_model(
        self, request: HttpRequest, obj: FeedToken, form: Any, change: bool
    ) -> None:
        if change:
            return  # nothing of a feed is edited: rotate or revoke it
        subject = obj.member or obj.team or obj.rotation
        if subject is None:  # never: FeedForm.clean asks for exactly one
            raise ValueError("a feed of nothing: no member, team or rotation")
        user = request.user
        if not user.is_authenticated:  # never: the admin serves signed-in staff
            raise PermissionDenied
        owner = form.cleaned_data.get("owner")
        if obj.member is not None:
            owner = owner or obj.member.user
        issued = feed_create(subject=subject, owner=owner or user, created_by=user)
        obj.pk = issued.feed.pk
        _announce(request, issued, f"Feed made: {issued.feed}")

    @admin.action(
        description="Rotate the token (the old URL stops working)",
        permissions=["change"],
    )
    def rotate_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        for feed in queryset.filter(revoked_at__isnull=True):
            _announce(request, feed_rotate(feed=feed), f"New token for {feed}")

    @admin.action(
        description="Revoke (the URL answers 404 from now on)",
        permissions=["change"],
    )
    def revoke_feeds(self, request: HttpRequest, queryset: QuerySet) -> None:
        for feed in queryset:
            feed_revoke(feed=feed, now=timezone.now())
        self.message_user(request, f"{queryset.count()} feed(s) revoked.")
