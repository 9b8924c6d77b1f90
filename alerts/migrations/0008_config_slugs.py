"""Slugs for integrations, routes and escalation policies: the API and
configuration files (``oncall_apply``) address them by slug as well as id.
And an index for a team's incidents newest first (the API's incident list)."""

from collections.abc import Callable
from typing import Any

from django.db import migrations, models
from django.utils.text import slugify


def _fill(apps: Any, schema_editor: Any) -> None:
    def fill(model: Any, base_of: Callable[[Any], str]) -> None:
        taken = set()
        for row in model.objects.order_by("pk"):
            root = (slugify(base_of(row)) or "x")[:90].strip("-") or "x"
            slug, n = root, 1
            while slug in taken:
                n += 1
                slug = f"{root}-{n}"
            taken.add(slug)
            row.slug = slug
            row.save(update_fields=["slug"])

    Integration = apps.get_model("alerts", "Integration")
    Route = apps.get_model("alerts", "Route")
    EscalationPolicy = apps.get_model("alerts", "EscalationPolicy")
    fill(Integration, lambda i: f"{i.team.slug}-{i.name}")
    fill(EscalationPolicy, lambda p: f"{p.team.slug}-{p.name}")
    fill(
        Route,
        lambda r: (
            f"{r.integration.team.slug}-{r.integration.name}-{r.name or r.position}"
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0007_insight_settings")]

    operations = [
        migrations.AddField(
            model_name=name,
            name="slug",
            field=models.CharField(max_length=100, null=True),
        )
        for name in ("integration", "route", "escalationpolicy")
    ] + [
        migrations.RunPython(_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="integration",
            name="slug",
            field=models.SlugField(
                max_length=100,
                unique=True,
                blank=True,
                help_text="Names the integration in the API and configuration "
                "files (default: team slug and name).",
            ),
        ),
        migrations.AlterField(
            model_name="escalationpolicy",
            name="slug",
            field=models.SlugField(
                max_length=100,
                unique=True,
                blank=True,
                help_text="Names the policy in the API and configuration files "
                "(default: team slug and name).",
            ),
        ),
        migrations.AlterField(
            model_name="route",
            name="slug",
            field=models.SlugField(
                max_length=100,
                unique=True,
                blank=True,
                help_text="Names the route in the API and configuration files "
                "(default: the integration's slug and the route's name or "
                "position).",
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["team", "-opened_at", "-id"], name="alerts_incident_team_opened"
            ),
        ),
    ]
