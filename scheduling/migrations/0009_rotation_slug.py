"""Rotations get a slug: the API and configuration files (``oncall_apply``)
address them by slug as well as id.  Existing rotations get team slug and name."""

from typing import Any

from django.db import migrations, models
from django.utils.text import slugify


def _fill(apps: Any, schema_editor: Any) -> None:
    Rotation = apps.get_model("scheduling", "Rotation")
    taken: set[str] = set()
    for rotation in Rotation.objects.select_related("team").order_by("pk"):
        root = (slugify(f"{rotation.team.slug}-{rotation.name}") or "x")[:90]
        root = root.strip("-") or "x"
        slug, n = root, 1
        while slug in taken:
            n += 1
            slug = f"{root}-{n}"
        taken.add(slug)
        rotation.slug = slug
        rotation.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0008_on_call_pay")]

    operations = [
        # A plain column first: PostgreSQL would make the SlugField's index twice.
        migrations.AddField(
            model_name="rotation",
            name="slug",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="rotation",
            name="slug",
            field=models.SlugField(
                blank=True,
                help_text="Names the rotation in the API and configuration files "
                "(default: team slug and name).",
                max_length=100,
                unique=True,
            ),
        ),
    ]
