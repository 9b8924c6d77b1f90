"""Admin forms whose times are typed in the rotation's time zone.

Operators think of "Tuesday 09:00" in their team's zone, not in UTC, so override
times are entered as local wall-clock times and converted here.  A local time that
does not exist (spring forward) or happens twice (fall back) is refused with a
message rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError

from scheduling.models import Member, Override, Rotation, Shift
from scheduling.overrides import OverrideSpec, override_validate
from scheduling.timeparse import InstantError, check_range


class LocalDateTimeField(forms.SplitDateTimeField):
    """A date and a time, kept naive: the zone comes from the rotation."""

    widget = widgets.AdminSplitDateTime

    def compress(self, data_list: Sequence[Any] | None) -> dt.datetime | None:
        if data_list and data_list[0] is not None and data_list[1] is not None:
            return dt.datetime.combine(data_list[0], data_list[1])
        return None

    def prepare_value(self, value: Any) -> Any:
        return value


def local_to_utc(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    try:
        # Years 1 and 9999 overflow on the way to UTC; anything outside the range
        # schedules are asked about is refused the same way the API refuses it.
        check_range(first.astimezone(dt.UTC))
    except (OverflowError, InstantError):
        raise ValidationError(
            f"{wall:%Y-%m-%d} is out of range: pick a date between 1900 and 2999."
        ) from None
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        if back != wall:
            raise ValidationError(
                f"{wall:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks "
                "skip it that night); pick a time after the change."
            )
        raise ValidationError(
            f"{wall:%Y-%m-%d %H:%M} happens twice in {tz.key} (the clocks go back "
            "that night); pick a time outside the repeated hour."
        )
    return first.astimezone(dt.UTC)


def _to_utc(form: forms.BaseForm, data: dict, names: list[str], tz: ZoneInfo) -> None:
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        try:
            data[name] = local_to_utc(value, tz)
        except ValidationError as exc:
            form.add_error(name, exc)


def _apply(form: forms.BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errs in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errs)
    else:
        form.add_error(None, exc)


TIME_HELP = "Local time in the rotation's time zone (its team's unless it has its own)."


class OverrideForm(forms.ModelForm):
    starts_at = LocalDateTimeField(label="Starts", help_text=TIME_HELP)
    ends_at = LocalDateTimeField(label="Ends", help_text=TIME_HELP)

    class Meta:
        model = Override
        fields = ["rotation", "role", "member", "starts_at", "ends_at", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk:
            tz = instance.rotation.tz
            for name in ("starts_at", "ends_at"):
                value = getattr(instance, name)
                self.initial[name] = value.astimezone(tz).replace(tzinfo=None)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        rotation = data.get("rotation")
        if rotation is None:
            return data
        _to_utc(self, data, ["starts_at", "ends_at"], rotation.tz)
        if self.errors:
            return data
        try:
            override_validate(
                rotation=rotation,
                role=data["role"],
                member=data["member"],
                starts_at=data.get("starts_at"),
                ends_at=data.get("ends_at"),
                exclude=[self.instance.pk] if self.instance.pk else [],
            )
        except ValidationError as exc:
            _apply(self, exc)
        return data


class SwapForm(forms.Form):
    """Two overrides made together: trade roles for a while, or trade days."""

    rotation = forms.ModelChoiceField(Rotation.objects.select_related("team"))
    reason = forms.CharField(max_length=300, required=False)
    first_member = forms.ModelChoiceField(
        Member.objects.filter(active=True).select_related("user"), label="Who"
    )
    first_role = forms.ChoiceField(choices=Shift.ROLE_CHOICES, label="takes")
    first_starts_at = LocalDateTimeField(label="from", help_text=TIME_HELP)
    first_ends_at = LocalDateTimeField(label="until")
    second_member = forms.ModelChoiceField(
        Member.objects.filter(active=True).select_related("user"), label="and who"
    )
    second_role = forms.ChoiceField(choices=Shift.ROLE_CHOICES, label="takes")
    second_starts_at = LocalDateTimeField(
        label="from", required=False, help_text="Blank = the same interval."
    )
    second_ends_at = LocalDateTimeField(label="until", required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        rotation = data.get("rotation")
        if rotation is None or self.errors:
            return data
        if not data.get("second_starts_at") and not data.get("second_ends_at"):
            data["second_starts_at"] = data.get("first_starts_at")
            data["second_ends_at"] = data.get("first_ends_at")
        names = [
            "first_starts_at",
            "first_ends_at",
            "second_starts_at",
            "second_ends_at",
        ]
        _to_utc(self, data, names, rotation.tz)
        if self.errors:
            return data
        data["first"] = OverrideSpec(
            data["first_role"],
            data["first_member"],
            data["first_starts_at"],
            data["first_ends_at"],
        )
        data["second"] = OverrideSpec(
            data["second_role"],
            data["second_member"],
            data["second_starts_at"],
            data["second_ends_at"],
        )
        return data
