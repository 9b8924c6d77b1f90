"""alerts.queue: services publish work by registered task name, never by importing
alerts.tasks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from alerts import queue
from oncall.celery import app

ALERTS = Path(queue.__file__).resolve().parent
PUBLISHERS = {"publish", "publish_on_commit", "publish_ids_on_commit", "publish_due"}


def test_every_name_services_publish_is_a_registered_task():
    app.loader.import_default_modules()  # what a worker does at start
    assert queue.PUBLISHED <= set(app.tasks)


def _publish_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in ALERTS.rglob("*.py"):
        if path == Path(queue.__file__).resolve():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "queue"
                and node.func.attr in PUBLISHERS
            ):
                calls.append((f"{path.relative_to(ALERTS)}:{node.lineno}", node))
    return calls


def test_services_publish_only_the_queue_s_task_names():
    calls = _publish_calls()
    assert len(calls) >= 8  # intake, escalation, paging and the tasks publish
    for where, call in calls:
        name = call.args[0]
        assert isinstance(name, ast.Attribute) and name.value.id == "queue", where
        assert getattr(queue, name.attr) in queue.PUBLISHED, where


def test_no_module_but_the_tasks_imports_alerts_tasks():
    for path in ALERTS.rglob("*.py"):
        if path.name == "tasks.py" and path.parent == ALERTS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "alerts.tasks", path
                if node.module == "alerts":
                    assert "tasks" not in {a.name for a in node.names}, path


def test_an_unknown_task_name_is_refused():
    with pytest.raises(ValueError, match="not a task services may publish"):
        queue.publish("alerts.tasks.no_such_task", 1)


def test_a_refusing_broker_is_logged_not_raised(settings, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(app, "send_task", refuse)
    assert queue.publish(queue.PAGE_SEND, [1]) is False
    assert "could not publish alerts.tasks.page_send" in caplog.text


def test_countdowns_never_exceed_a_minute(monkeypatch):
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **kw: sent.append((name, kw)))
    queue.publish(queue.ESCALATION_ADVANCE, [1], countdown=3600)
    queue.publish(queue.ESCALATION_ADVANCE, [2], countdown=0)
    assert sent == [
        (queue.ESCALATION_ADVANCE, {"args": ([1],), "countdown": 60.0}),
        (queue.ESCALATION_ADVANCE, {"args": ([2],)}),
    ]
