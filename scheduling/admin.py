"""The operator's console for scheduling.

Forms parse and validate; every rule lives in a service the API calls too:
``teams`` (a new time zone regenerates future shifts), ``rotations`` (rosters,
regenerating after a change, no deleting history), ``materialize`` (generate shifts
now) and ``overrides``.  The admin parses input, calls one of them and shows the
result.  Times in lists are shown in the team's time zone, which is how
operators think about handoffs.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from scheduling import plan
from scheduling.access import team_can_edit_schedule, team_can_read
from scheduling.conflicts import (
    conflict_cover,
    double_booked_during,
    unavailable_during,
)
from scheduling.forms import OverrideForm, SwapForm
from scheduling.materialize import rotations_materialize
from scheduling.models import (
    Member,
    OutOfOfficeCalendar,
    Override,
    Rotation,
    RotationParticipant,
    Shift,
    ShiftChangeNotice,
    Team,
    TeamMembership,
    Unavailability,
)
from scheduling.notices import shift_changes_noticed
from scheduling.out_of_office import ooo_calendar_fetch, ooo_calendar_set
from scheduling.overrides import (
    override_create,
    override_delete,
    override_swap,
    override_update,
    overrides_delete,
)
from scheduling.picture import schedule_picture
from scheduling.rota_share import scheme_advice
from scheduling.rotations import (
    rotation_changed,
    rotation_delete,
    rotation_has_history,
    rotation_participants_validate,
)
from scheduling.selectors import next_shift_for, oncall_at, rotation_inactive_members
from scheduling.teams import team_update
from scheduling.timeparse import EARLIEST, LATEST
from scheduling.version import schedule_changed


def _local(value: dt.datetime | None, tz: Any) -> str:
    if value is None:
        return "-"
    local = value.astimezone(tz)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["member"]


class RotationLinkInline(admin.TabularInline):
    model = Rotation
    extra = 0
    fields = readonly_fields = ("name", "scheme", "layer", "active")
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "time_zone", "on_call_now", "schedule_link"]
    search_fields = ["slug", "name"]
    readonly_fields = ["on_call_now", "schedule_link"]
    inlines = [TeamMembershipInline, RotationLinkInline]
    change_form_template = "admin/scheduling/team/change_form.html"

    def save_model(
        self, request: HttpRequest, obj: Team, form: Any, change: bool
    ) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The form has set the fields on ``obj`` already.
        updated = team_update(team=obj)
        if updated.materialized is not None:
            self.message_user(
                request,
                "Time zone changed: the future shifts of "
                f"{updated.materialized.regenerated} rotation(s) were regenerated; "
                "shifts under way are unchanged.",
            )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.schedule_view)
        cover = self.admin_site.admin_view(self.cover_view)
        return [
            path("<path:object_id>/schedule/", view, name="scheduling_team_schedule"),
            path("<path:object_id>/cover/", cover, name="scheduling_team_cover"),
            *super().get_urls(),
        ]

    def cover_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """One click on a conflict's suggestion: that member covers the conflict
        by an override (``conflicts.conflict_cover``, through the overrides
        service).  POST only; back to the picture with the outcome."""
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        team = self.get_object(request, unquote(object_id))
        if team is None or not team_can_read(request.user, team):
            raise Http404(f"no team with id {object_id!r}")
        can_add = request.user.has_perm("scheduling.add_override")
        if not (can_add and team_can_edit_schedule(request.user, team)):
            raise PermissionDenied
        picture = reverse("admin:scheduling_team_schedule", args=[team.pk])
        query = urlencode(
            {
                "start": request.POST.get("start", "")[:10],
                "weeks": request.POST.get("weeks", "")[:2],
            }
        )
        back = HttpResponseRedirect(f"{picture}?{query}#conflicts")
        member_id = request.POST.get("member", "")
        cover = (
            Member.objects.filter(pk=int(member_id)).first()
            if member_id.isdigit() and len(member_id) < 12
            else None
        )
        if cover is None:
            self.message_user(request, "No such member.", messages.ERROR)
            return back
        try:
            made = conflict_cover(
                team=team,
                key=request.POST.get("key", "")[:100],
                cover=cover,
                now=timezone.now(),
                created_by=request.user,
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return back
        tz = team.tz
        self.message_user(
            request,
            f"Override created: {made.member} is {made.role} of "
            f"{made.rotation.name} from {_local(made.starts_at, tz)} to "
            f"{_local(made.ends_at, tz)}.",
            messages.SUCCESS,
        )
        return back

    @admin.display(description="schedule")
    def schedule_link(self, obj: Team) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:scheduling_team_schedule", args=[obj.pk])
        return format_html('<a href="{}">schedule picture &rarr;</a>', url)

    @admin.display(description="on call now")
    def on_call_now(self, obj: Team) -> str:
        if not obj.pk:
            return "-"
        answer = oncall_at(team=obj, at=timezone.now())
        if answer.primary is None:
            return "nobody"
        text = f"{answer.primary}"
        if answer.secondary is not None:
            text += f" / {answer.secondary}"
        return text + (" (override)" if answer.override else "")

    def schedule_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        # get_object, not get_object_or_404: it answers None for an id that is not
        # a number ("abc"), where a plain lookup would raise a 500.
        team = self.get_object(request, unquote(object_id))
        if team is None:
            raise Http404(f"no team with id {object_id!r}")
        if not self.has_view_permission(request, team):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": team,
            "title": f"Schedule: {team.name}",
            "picture": schedule_picture(
                team=team,
                now=timezone.now(),
                start=request.GET.get("start"),
                weeks=request.GET.get("weeks"),
            ),
        }
        return TemplateResponse(request, "admin/scheduling/team/schedule.html", context)


class OutOfOfficeInline(admin.StackedInline):
    """The member's out-of-office (PTO) calendar URL and how its last fetch went."""

    model = OutOfOfficeCalendar
    extra = 0
    max_num = 1
    fields = ["url", "last_fetch"]
    readonly_fields = ["last_fetch"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    verbose_name = "out-of-office calendar"

    @admin.display(description="last fetch")
    def last_fetch(self, obj: OutOfOfficeCalendar) -> str:
        return ooo_status(obj)


def ooo_status(obj: OutOfOfficeCalendar) -> str:
    if obj.pk is None or obj.fetched_at is None:
        return "not fetched yet"
    if obj.error:
        return format_html(
            '<strong style="color:#c92a2a">failed {}: {}</strong>',
            _local(obj.error_at, obj.member.tz),
            obj.error,
        )
    return f"fetched {_local(obj.succeeded_at, obj.member.tz)}"


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["user", "phone_or_warning", "time_zone", "active", "out_of_office"]
    list_filter = ["active"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone"]
    readonly_fields = ["paging", "next_on_call", "insights"]
    inlines = [OutOfOfficeInline]

    @admin.display(description="phone", ordering="phone")
    def phone_or_warning(self, obj: Member) -> str:
        return obj.phone or f"⚠ {obj.paging_warning or 'contact methods only'}"

    @admin.display(description="paging")
    def paging(self, obj: Member) -> str:
        if obj.pk is None:
            return ""
        warning = obj.paging_warning
        return f"⚠ {warning}: pages to this member fail" if warning else "reachable"

    def save_model(
        self, request: HttpRequest, obj: Member, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        schedule_changed()  # names, phones and feed options are in the feeds

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        if formset.model is not OutOfOfficeCalendar:
            super().save_formset(request, form, formset, change)
            return
        # Through the service: a new URL forgets the old one's busy time.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = (
            [],
            [],
            [],
        )
        for inline in formset.forms:
            data = getattr(inline, "cleaned_data", {})
            if data.get("DELETE"):
                ooo_calendar_set(member=form.instance, url="")
            elif inline.has_changed():
                ooo_calendar_set(member=form.instance, url=data.get("url") or "")

    @admin.display(description="out of office")
    def out_of_office(self, obj: Member) -> str:
        calendar = OutOfOfficeCalendar.objects.filter(member=obj).first()
        return "-" if calendar is None else ooo_status(calendar)

    @admin.display(description="insights")
    def insights(self, obj: Member) -> str:
        """Links to the page load of the member on each team's insights page (the
        page is the alerts app's: named by URL, never imported)."""
        if not obj.pk:
            return "-"
        links = [
            format_html(
                '<a href="{}#member-{}">{}</a>',
                reverse("admin:alerts_team_insights", args=[team.pk]),
                obj.username,
                team.name,
            )
            for team in Team.objects.filter(teammembership__member=obj).order_by("slug")
        ]
        return format_html_join(", ", "{}", ((link,) for link in links)) or "-"

    @admin.display(description="next on call")
    def next_on_call(self, obj: Member) -> str:
        if not obj.pk:
            return "-"
        stint = next_shift_for(member=obj, after=timezone.now())
        if stint is None:
            return "nothing scheduled"
        tz = stint.team.tz
        return (
            f"{stint.role} for {stint.team.name} ({stint.rotation.name}) from "
            f"{_local(stint.starts_at, tz)} to {_local(stint.ends_at, tz)}"
            + (" (override)" if stint.override else "")
        )


class ParticipantFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            f.cleaned_data["member"]
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        rotation_participants_validate(rotation=self.instance, members=kept)


class RotationParticipantInline(admin.TabularInline):
    model = RotationParticipant
    formset = ParticipantFormSet
    extra = 0
    fields = ["position", "member"]
    autocomplete_fields = ["member"]
    ordering = ["position", "id"]
    verbose_name = "participant (in rotation order)"
    # Django would pluralise the whole phrase: "participant (in rotation order)s".
    verbose_name_plural = "participants (in rotation order)"


class WeekdaysField(forms.MultipleChoiceField):
    """Checkboxes for the weekdays stored as digits ("01234" = Monday-Friday)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.pop("empty_value", None)
        super().__init__(
            choices=[(str(i), name) for i, name in Rotation.WEEKDAY_CHOICES],
            widget=forms.CheckboxSelectMultiple,
            required=False,
            **kwargs,
        )

    def prepare_value(self, value: Any) -> Any:
        return list(value) if isinstance(value, str) else value

    def clean(self, value: Any) -> str:
        return "".join(sorted(super().clean(value)))


class RotationForm(forms.ModelForm):
    restrict_weekdays = WeekdaysField(
        label="Restrict to weekdays",
        help_text="None ticked = every day (when a window is set).",
    )

    class Meta:
        model = Rotation
        fields = [
            "team",
            "name",
            "scheme",
            "active",
            "layer",
            "shift_length",
            "shift_unit",
            "start_date",
            "handoff_weekday",
            "handoff_time",
            "time_zone",
            "restrict_weekdays",
            "restrict_start",
            "restrict_end",
        ]

    def clean_start_date(self) -> dt.date:
        start: dt.date = self.cleaned_data["start_date"]
        # Shifts are generated from the start date on: one in year 9999 would
        # overflow the first handoff (a 500), one in year 1 means millennia of them.
        if not EARLIEST.date() <= start < LATEST.date():
            raise ValidationError(
                f"{start:%Y-%m-%d} is out of range: pick a date between "
                f"{EARLIEST:%Y} and {LATEST.year - 1}."
            )
        return start


@admin.register(Rotation)
class RotationAdmin(admin.ModelAdmin):
    form = RotationForm
    list_display = [
        "name",
        "team",
        "scheme",
        "length",
        "handoff",
        "layer",
        "active",
        "generated_until",
    ]
    list_filter = ["team", "scheme", "active"]
    search_fields = ["name", "team__slug", "team__name"]
    inlines = [RotationParticipantInline]
    actions = ["generate_shifts_now"]
    readonly_fields = ["upcoming_shifts", "generated_until", "time_on_call"]
    change_form_template = "admin/scheduling/rotation/change_form.html"
    fieldsets = [
        (None, {"fields": ["team", "name", "scheme", "active", "layer"]}),
        (
            "Shifts",
            {
                "fields": [
                    ("shift_length", "shift_unit"),
                    ("start_date", "handoff_weekday", "handoff_time"),
                    "time_zone",
                ]
            },
        ),
        (
            "Restriction (optional): covers only inside these local windows",
            {"fields": ["restrict_weekdays", ("restrict_start", "restrict_end")]},
        ),
        ("Time on call", {"fields": ["time_on_call"]}),
        ("Upcoming", {"fields": ["upcoming_shifts", "generated_until"]}),
    ]

    @admin.display(description="shift length")
    def length(self, obj: Rotation) -> str:
        unit = obj.shift_unit if obj.shift_length != 1 else obj.shift_unit[:-1]
        return f"{obj.shift_length} {unit}"

    @admin.display(description="handoff")
    def handoff(self, obj: Rotation) -> str:
        anchor = obj.anchor()
        day = f"{anchor:%a} " if obj.shift_unit == plan.WEEKS else ""
        return f"{day}{obj.handoff_time:%H:%M} {obj.tz.key}"

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.preview_view)
        return [
            path("add/preview/", view, name="scheduling_rotation_preview_add"),
            path(
                "<path:object_id>/change/preview/",
                view,
                name="scheduling_rotation_preview",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="next 12 shifts (as saved)")
    @admin.display(description="time on call")
    def time_on_call(self, obj: Rotation) -> str:
        """Each person's share of time on call that the scheme gives, plainly."""
        if not obj.pk:
            return "-"
        return scheme_advice(roles=len(obj.roles), people=obj.participants.count())

    def upcoming_shifts(self, obj: Rotation) -> str:
        if not obj.pk:
            return "Use “Preview next 12 shifts” below to see them before saving."
        try:
            rows = plan.preview(obj.build_plan(), timezone.now(), 12)
        except plan.PlanError as exc:
            return format_html('<span class="errornote">{}</span>', exc)
        except (ValueError, KeyError, TypeError, OverflowError):
            # A form re-shown with errors has put the refused values (an unknown
            # time zone, a shift length of 10**30, ...) on ``obj``: nothing
            # sensible to preview from them.
            return "Shown once the form's errors are fixed."
        return _preview_table(rows, obj.team, obj.tz, _member_names(rows))

    def preview_view(
        self, request: HttpRequest, object_id: str | None = None
    ) -> HttpResponse:
        """The next 12 shifts of the definition in the posted form, not saved.

        The change form posts here (a second submit button with ``formaction``), so
        an operator sees what a change would do before committing to it.
        """
        obj = self.get_object(request, object_id) if object_id else None
        allowed = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponse("Post the rotation form here.", status=405)
        ModelForm = self.get_form(request, obj, change=obj is not None)
        form = ModelForm(request.POST, request.FILES, instance=obj)
        form_ok = form.is_valid()
        # Django's own (private) step of the change view, so the preview validates
        # the inlines exactly as saving would; django-stubs does not declare it.
        formsets, _ = self._create_formsets(  # type: ignore[attr-defined]
            request, form.instance, change=obj is not None
        )
        errors: list[str] = []
        rows: list[plan.SlotPreview] = []
        names: dict[int, str] = {}
        formsets_ok = all(fs.is_valid() for fs in formsets)
        if not form_ok:
            errors += [f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items()]
        for fs in formsets:
            errors += [str(e) for e in fs.non_form_errors()]
            for f in fs.forms:
                errors += [f"{k}: {' '.join(map(str, v))}" for k, v in f.errors.items()]
        if form_ok and formsets_ok:
            kept = sorted(
                (
                    (d["position"], i, d["member"])
                    for fs in formsets
                    for i, d in enumerate(fs.cleaned_data)
                    if d and not d.get("DELETE")
                ),
                key=lambda t: (t[0], t[1]),
            )
            rotation: Rotation = form.instance
            try:
                rows = plan.preview(
                    rotation.build_plan([m.pk for _, _, m in kept]), timezone.now(), 12
                )
            except plan.PlanError as exc:
                errors.append(str(exc))
            names = {m.pk: str(m) for _, _, m in kept}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Preview: next 12 shifts (not saved)",
            "errors": errors,
            "table": (
                _preview_table(rows, form.instance.team, form.instance.tz, names)
                if rows
                else ""
            ),
            "rotation": form.instance,
        }
        return TemplateResponse(
            request, "admin/scheduling/rotation/preview.html", context
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        # get_object is None for an id that is not a number ("abc"): Django's
        # change view then answers "does not exist" instead of a 500 here.
        rotation = self.get_object(request, unquote(object_id))
        if request.method == "GET" and rotation is not None:
            inactive = rotation_inactive_members(rotation_id=rotation.pk)
            names = ", ".join(str(m) for m in inactive)
            if names:
                self.message_user(
                    request,
                    f"Inactive members are still in this rotation and will be "
                    f"scheduled: {names}. Remove them (and save) to stop that.",
                    messages.WARNING,
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        # Whoever the save moves within the next 24 hours is told by SMS
        # (scheduling/notices.py).  The "before" is read here, before the form
        # writes the rotation: its layer and active flag are read live, so after
        # the save they would look unchanged.  Its team, and the one the form
        # moves it to.
        with transaction.atomic(), ExitStack() as stack:
            for team in self._teams_touched(request, object_id):
                stack.enter_context(shift_changes_noticed(team=team))
            return super().changeform_view(request, object_id, form_url, extra_context)

    def _teams_touched(self, request: HttpRequest, object_id: str | None) -> list[Team]:
        ids: set[int] = set()
        if object_id is not None:
            rotation = self.get_object(request, unquote(object_id))
            if rotation is not None:
                ids.add(rotation.team_id)
        posted = request.POST.get("team", "")
        if posted.isdigit():
            ids.add(int(posted))
        return list(Team.objects.filter(pk__in=ids).order_by("pk"))

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        report = rotation_changed(rotation=form.instance)
        if form.instance.pk in report.skipped:
            self.message_user(
                request,
                f"Shifts not generated: {report.skipped[form.instance.pk]}",
                messages.WARNING,
            )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shifts that happened are history stipends and reports rely on; deleting
        # the rotation would delete them.  Deactivate it instead.
        if obj is not None and rotation_has_history(rotation=obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Rotation) -> None:
        rotation_delete(rotation=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[Rotation]
    ) -> None:
        for rotation in queryset:
            rotation_delete(rotation=rotation)

    @admin.action(description="Generate shifts now", permissions=["change"])
    def generate_shifts_now(
        self, request: HttpRequest, queryset: QuerySet[Rotation]
    ) -> None:
        report = rotations_materialize(rotations=queryset)
        self.message_user(
            request,
            f"{report.extended + report.regenerated} rotation(s) brought up to date: "
            f"{report.shifts_created} shifts created, {report.shifts_deleted} future "
            "shifts replaced.",
        )
        for rotation_id, why in report.skipped.items():
            self.message_user(
                request, f"Rotation {rotation_id}: {why}", messages.WARNING
            )


def _member_names(rows: list[plan.SlotPreview]) -> dict[int, str]:
    ids = {m for r in rows for _, m in r.roles}
    return {
        m.pk: str(m) for m in Member.objects.filter(pk__in=ids).select_related("user")
    }


def _holder(names: dict[int, str], row: plan.SlotPreview, role: str) -> str:
    member_id = dict(row.roles).get(role)
    return "-" if member_id is None else names.get(member_id, "-")


def _preview_cell(name: str, away: list[str], elsewhere: list[str]) -> str:
    """A previewed slot's holder, with a conflict marker when their out-of-office
    calendar has them away during it, or they are on call in another team then
    (a double booking)."""
    if not away and not elsewhere:
        return name
    why = [f"out of office: {', '.join(away)}"] if away else []
    why += [f"double booked: {', '.join(elsewhere)}"] if elsewhere else []
    return format_html(
        '{} <span class="conflict-flag" title="{}" '
        'style="color:#c92a2a;font-weight:700">⚠ conflict</span>',
        name,
        "; ".join(why),
    )


def _preview_table(
    rows: list[plan.SlotPreview], team: Team, tz: Any, names: dict[int, str]
) -> str:
    roles = (plan.PRIMARY, plan.SECONDARY)
    held = [(r, role, dict(r.roles).get(role)) for r in rows for role in roles]
    spans = [(m, r.slot.starts_at, r.slot.ends_at) for r, _, m in held if m is not None]
    conflicts = iter(
        zip(
            unavailable_during(spans),
            double_booked_during(team=team, spans=spans),
            strict=True,
        )
    )
    cells = [
        "-" if m is None else _preview_cell(_holder(names, r, role), *next(conflicts))
        for r, role, m in held
    ]
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} h</td><td>{}</td><td>{}</td></tr>",
        (
            (
                _local(r.slot.starts_at, tz),
                _local(r.slot.ends_at, tz),
                f"{(r.slot.ends_at - r.slot.starts_at).total_seconds() / 3600:g}",
                cells[2 * i],
                cells[2 * i + 1],
            )
            for i, r in enumerate(rows)
        ),
    )
    return format_html(
        '<table class="oncall-preview"><thead><tr><th>starts</th><th>ends</th>'
        "<th>length</th><th>primary</th><th>secondary</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        body,
    )


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    form = OverrideForm
    list_display = [
        "member",
        "role",
        "rotation",
        "starts_local",
        "ends_local",
        "swap",
        "reason",
    ]
    list_filter = ["rotation__team", "role", "rotation"]
    search_fields = ["member__user__username", "reason", "rotation__name"]
    autocomplete_fields = ["member"]
    date_hierarchy = "starts_at"
    readonly_fields = ["created_by", "created_at", "swap_id"]
    change_list_template = "admin/scheduling/override/change_list.html"

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.swap_view)
        return [
            path("swap/", view, name="scheduling_override_swap"),
            *super().get_urls(),
        ]

    def swap_view(self, request: HttpRequest) -> HttpResponse:
        """Create a swap: two overrides validated and saved together."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SwapForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                override_swap(
                    rotation=data["rotation"],
                    first=data["first"],
                    second=data["second"],
                    reason=data["reason"],
                    created_by=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(
                    request,
                    f"Swap created: {data['first'].member} and "
                    f"{data['second'].member} on {data['rotation'].name}.",
                )
                return HttpResponseRedirect(
                    reverse("admin:scheduling_override_changelist")
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Create a swap",
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/scheduling/override/swap.html", context)

    @admin.display(description="starts (team time)", ordering="starts_at")
    def starts_local(self, obj: Override) -> str:
        return _local(obj.starts_at, obj.rotation.tz)

    @admin.display(description="ends (team time)", ordering="ends_at")
    def ends_local(self, obj: Override) -> str:
        return _local(obj.ends_at, obj.rotation.tz)

    @admin.display(description="swap", boolean=True)
    def swap(self, obj: Override) -> bool:
        return obj.swap_id is not None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Override]:
        return (
            super()
            .get_queryset(request)
            .select_related("rotation__team", "member__user")
        )

    def save_model(
        self, request: HttpRequest, obj: Override, form: Any, change: bool
    ) -> None:
        if change:
            override_update(override=obj)
            return
        made = override_create(
            rotation=obj.rotation,
            role=obj.role,
            member=obj.member,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            reason=obj.reason,
            created_by=request.user,
        )
        obj.pk, obj.created_at, obj.created_by = (
            made.pk,
            made.created_at,
            made.created_by,
        )

    def delete_model(self, request: HttpRequest, obj: Override) -> None:
        override_delete(override=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[Override]
    ) -> None:
        overrides_delete(overrides=queryset)


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    """Read-only: shifts are generated from rotations, never edited by hand (use an
    override to change who covers)."""

    list_display = ["rotation", "role", "member", "starts_local", "ends_local", "hours"]
    list_filter = ["rotation__team", "role", "rotation"]
    search_fields = ["member__user__username", "rotation__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["rotation__team", "member__user"]

    @admin.display(description="starts (team time)", ordering="starts_at")
    def starts_local(self, obj: Shift) -> str:
        return _local(obj.starts_at, obj.rotation.tz)

    @admin.display(description="ends (team time)", ordering="ends_at")
    def ends_local(self, obj: Shift) -> str:
        return _local(obj.ends_at, obj.rotation.tz)

    @admin.display(description="hours")
    def hours(self, obj: Shift) -> str:
        return f"{obj.duration.total_seconds() / 3600:g}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutOfOfficeCalendar)
class OutOfOfficeCalendarAdmin(admin.ModelAdmin):
    """Every member's PTO calendar and its last fetch: failures stand out here."""

    list_display = ["member", "fetched", "succeeded_at", "error", "error_at"]
    list_filter = [("error", admin.EmptyFieldListFilter)]
    search_fields = ["member__user__username"]
    fields = ["member", "url", "fetched", "etag", "error", "error_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["member", "fetched", "etag", "error", "error_at"]
    actions = ["fetch_now"]

    @admin.display(description="last fetch")
    def fetched(self, obj: OutOfOfficeCalendar) -> str:
        return ooo_status(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added on the member's page

    def save_model(
        self, request: HttpRequest, obj: OutOfOfficeCalendar, form: Any, change: bool
    ) -> None:
        url = obj.url
        obj.url = OutOfOfficeCalendar.objects.get(pk=obj.pk).url
        ooo_calendar_set(member=obj.member, url=url)

    @admin.action(
        description="Fetch the selected calendars now", permissions=["change"]
    )
    def fetch_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        failed = 0
        for calendar in queryset.select_related("member"):
            failed += not ooo_calendar_fetch(calendar=calendar, now=now).ok
        self.message_user(
            request, f"{queryset.count() - failed} fetched, {failed} failed."
        )


@admin.register(Unavailability)
class UnavailabilityAdmin(admin.ModelAdmin):
    """Busy time read from out-of-office calendars; read only (the calendar is the
    source: edit it there)."""

    list_display = ["member", "starts_at", "ends_at", "summary"]
    list_filter = ["member"]
    date_hierarchy = "starts_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ShiftChangeNotice)
class ShiftChangeNoticeAdmin(admin.ModelAdmin):
    """Short-notice changes told by SMS (``scheduling.notices``): read only.
    Failed ones show why, after how many attempts (alerts/paging/shift_notices.py
    retries transient failures)."""

    list_display = [
        "member",
        "team",
        "text",
        "created_at",
        "status",
        "attempts",
        "sent_at",
        "next_attempt_at",
        "failed_at",
        "error",
    ]
    list_filter = [
        "team",
        ("sent_at", admin.EmptyFieldListFilter),
        ("failed_at", admin.EmptyFieldListFilter),
    ]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
