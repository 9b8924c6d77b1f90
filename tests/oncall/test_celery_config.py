"""The effective Celery configuration is what the settings intend.

Checking ``app.conf`` (not the Django settings) catches a misspelt ``CELERY_*``
name: Celery silently ignores names it does not know.
"""

from __future__ import annotations

from celery.app.defaults import DEFAULTS
from django.conf import settings

from oncall.celery import app


def test_every_celery_setting_is_one_celery_knows():
    names = [name for name in dir(settings) if name.startswith("CELERY_")]
    assert names, "no CELERY_ settings found"
    unknown = [
        name for name in names if name.removeprefix("CELERY_").lower() not in DEFAULTS
    ]
    assert unknown == []


def test_effective_configuration():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.enable_utc is True
    assert conf.timezone == "UTC"
    assert conf.broker_url == settings.CELERY_BROKER_URL


def test_beat_schedule_names_registered_tasks_and_short_intervals():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert schedule, "beat schedule is empty"
    for entry_name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"{entry_name}: {entry['task']} unknown"
        interval = entry["schedule"]
        seconds = (
            interval.total_seconds() if hasattr(interval, "total_seconds") else interval
        )
        # Sweeps decide from the database what is due; they must run often.
        assert 0 < float(seconds) <= 3600, entry_name
