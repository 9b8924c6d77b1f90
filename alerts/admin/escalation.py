"""The operator's console for escalation: policies and their steps, members'
numbers and contact rules, and every page sent (with how late it went out).

Imported by ``alerts/admin.py``; the incident page's pages inline and "escalate
now" action are defined here and attached there.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from alerts.escalation.policies import (
    StepSpec,
    policy_delete,
    policy_save,
    policy_steps_problems,
    step_describe,
)
from alerts.incidents.escalate import incident_escalate
from alerts.incidents.state import IncidentStateError
from alerts.models import (
    ContactMethod,
    ContactRule,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    Incident,
    Page,
    PageBundle,
)
from scheduling.models import Member


class EscalationStepForm(forms.ModelForm):
    # No preselected target: otherwise a step left at its defaults (on-call
    # primary, at once) looks "unchanged" to the formset and is silently dropped,
    # while a blank extra row must stay ignorable.
    target = forms.ChoiceField(
        choices=[("", "---------"), *EscalationStep.Target.choices]
    )

    class Meta:
        model = EscalationStep
        fields = ["position", "delay", "target", "member", "channel", "voice_after"]


def _kept_steps(formset: forms.BaseInlineFormSet) -> list[StepSpec]:
    """The inline's steps, in the order of their position (then the form's)."""
    kept = [
        (f.cleaned_data.get("position") or 0, n, f.cleaned_data)
        for n, f in enumerate(formset.forms)
        if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
    ]
    return [
        StepSpec(
            target=data["target"],
            channel=data["channel"],
            delay=data["delay"],
            member=data.get("member"),
            voice_after=data["voice_after"],
        )
        for _, _, data in sorted(kept, key=lambda k: (k[0], k[1]))
    ]


class StepFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        policy: EscalationPolicy = self.instance
        if getattr(policy, "team_id", None) is None:
            return  # the policy form reports the missing team
        problems = policy_steps_problems(policy, _kept_steps(self))
        if problems:
            raise ValidationError(problems)


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    form = EscalationStepForm
    formset = StepFormSet
    extra = 1
    fields = ["position", "delay", "target", "member", "channel", "voice_after"]
    ordering = ["position", "id"]
    autocomplete_fields = ["member"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "team_default", "summary", "repeats", "used_by"]
    list_filter = ["team", "team_default"]
    search_fields = ["name", "team__slug"]
    inlines = [EscalationStepInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "team",
                    "name",
                    "slug",
                    "description",
                    "team_default",
                    "repeat",
                    "repeat_until_acknowledged",
                    "repeat_after",
                ]
            },
        ),
        (
            "Low urgency: business hours (in each paged member's time zone)",
            {
                "description": "Low-urgency incidents never call anyone: each step "
                "sends one SMS per member inside these hours, and holds it until "
                "the member's next business-hours start outside them.",
                "fields": ["business_start", "business_end", "business_weekdays"],
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationPolicy]:
        return (
            super()
            .get_queryset(request)
            .select_related("team")
            .prefetch_related("steps", "routes")
        )

    # Saved with its steps through the service (alerts/escalation/policies.py),
    # the API's and configuration files' path: in save_related, once the
    # inline's steps are known.
    def save_model(
        self,
        request: HttpRequest,
        obj: EscalationPolicy,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        pass

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formsets: list[BaseFormSet],
        change: bool,
    ) -> None:
        steps: list[StepSpec] = []
        for formset in formsets:
            if isinstance(formset, forms.BaseInlineFormSet):
                # For the admin's history only (new/changed/deleted objects).
                formset.save(commit=False)
                if formset.model is EscalationStep:
                    steps = _kept_steps(formset)
        policy_save(policy=form.instance, steps=steps)

    def delete_model(self, request: HttpRequest, obj: EscalationPolicy) -> None:
        policy_delete(policy=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[EscalationPolicy]
    ) -> None:
        for policy in queryset:
            policy_delete(policy=policy)

    @admin.display(description="steps")
    def summary(self, policy: EscalationPolicy) -> str:
        steps = sorted(policy.steps.all(), key=lambda s: (s.position, s.pk))
        if not steps:
            return "no steps: pages nobody"
        parts = []
        for step in steps:
            text = step_describe(
                {
                    "target": step.target,
                    "channel": step.channel,
                    "voice_after": step.voice_after.total_seconds(),
                }
            )
            if step.target == EscalationStep.Target.MEMBER and step.member_id:
                text = text.replace("a named member", str(step.member))
            wait = int(step.delay.total_seconds())
            parts.append(f"after {wait // 60} min: {text}" if wait else text)
        return " → ".join(parts)

    @admin.display(description="repeats")
    def repeats(self, policy: EscalationPolicy) -> str:
        if policy.repeat_until_acknowledged:
            return "until acknowledged"
        return str(policy.repeat) if policy.repeat else "-"

    @admin.display(description="routes")
    def used_by(self, policy: EscalationPolicy) -> str:
        return ", ".join(str(route) for route in policy.routes.all()) or "-"


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ["member", "position", "phone", "label", "sms", "voice", "state"]
    list_filter = ["sms", "voice"]
    search_fields = ["member__user__username", "phone", "label"]
    autocomplete_fields = ["member"]
    ordering = ["member__user__username", "position"]
    actions = ["mark_working"]

    @admin.display(description="state")
    def state(self, method: ContactMethod) -> str:
        if method.broken_at is None:
            return "working"
        return f"broken since {method.broken_at:%Y-%m-%d %H:%M}: {method.broken_reason}"

    @admin.action(
        description="Mark the selected numbers as working again", permissions=["change"]
    )
    def mark_working(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(broken_at=None, broken_reason="")
        self.message_user(request, f"{count} number(s) will be used again.")


@admin.register(ContactRule)
class ContactRuleAdmin(admin.ModelAdmin):
    list_display = ["member", "channel", "delay"]
    search_fields = ["member__user__username"]
    autocomplete_fields = ["member"]


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "incident_link",
        "member",
        "channel",
        "status",
        "step_label",
        "number",
        "created_at",
        "late",
        "sent_at",
    ]
    list_filter = ["status", "channel", "member"]
    search_fields = ["=incident__id", "member__user__username", "number", "provider_id"]
    date_hierarchy = "created_at"
    list_select_related = ["incident", "member__user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Page | None = None
    ) -> bool:
        return False  # a record of what happened

    @admin.display(description="incident", ordering="incident_id")
    def incident_link(self, page: Page) -> str:
        return format_html(
            '<a href="../incident/{}/change/">#{}</a>',
            page.incident_id,
            page.incident_id,
        )

    @admin.display(description="step")
    def step_label(self, page: Page) -> str:
        label = f"{page.step + 1}"
        if page.repeat:
            label += f" (repeat {page.repeat})"
        return label

    @admin.display(description="fired late by")
    def late(self, page: Page) -> str:
        seconds = (page.created_at - page.step_due_at).total_seconds()
        return f"{seconds:.1f} s"


@admin.register(PageBundle)
class PageBundleAdmin(admin.ModelAdmin):
    list_display = ["pk", "member", "status", "created_at", "sent_at", "body"]
    list_filter = ["status"]
    search_fields = ["member__user__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PageBundle | None = None
    ) -> bool:
        return False


class PageInline(admin.TabularInline):
    """On the incident page: every SMS and call, with its status."""

    model = Page
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "created_at",
        "member",
        "channel",
        "step",
        "repeat",
        "status",
        "number",
        "sent_at",
        "error",
    )
    ordering = ["created_at", "id"]

    def has_add_permission(
        self, request: HttpRequest, obj: Incident | None = None
    ) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Page]:
        return super().get_queryset(request).select_related("member__user")


def escalation_display(incident: Incident) -> str:
    escalation = Escalation.objects.filter(pk=incident.pk).first()
    if escalation is None:
        return "not started (opened in maintenance?)"
    text = f"{escalation.snapshot.get('name', '?')}: {escalation.state}"
    if escalation.state == Escalation.State.ACTIVE and escalation.next_action_at:
        wait = (escalation.next_action_at - timezone.now()).total_seconds()
        text += f", step {escalation.next_step + 1} " + (
            f"in {int(wait)} s" if wait > 0 else "due now"
        )
    elif escalation.stopped_reason:
        text += f" ({escalation.stopped_reason})"
    return text


def figures_display(incident: Incident) -> str:
    def fmt(value: timedelta | None) -> str:
        if value is None:
            return "-"
        seconds = int(value.total_seconds())
        return f"{seconds // 60} min {seconds % 60} s"

    return (
        f"to acknowledge: {fmt(incident.time_to_acknowledge)}; "
        f"to resolve: {fmt(incident.time_to_resolve)}"
    )


@admin.action(
    description="Escalate now (the next step fires at once)", permissions=["change"]
)
def escalate_now(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Incident]
) -> None:
    user = request.user
    # The admin serves signed-in staff only: the else is for the type checker.
    by = Member.objects.filter(user=user).first() if user.is_authenticated else None
    done = 0
    for incident in queryset:
        try:
            incident_escalate(incident=incident, by=by, via="admin")
            done += 1
        except IncidentStateError as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
    modeladmin.message_user(request, f"Escalated {done} incident(s).")
