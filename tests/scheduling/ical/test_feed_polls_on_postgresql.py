"""The lean path's parity tests and the feed's HTTP tests, run again on
PostgreSQL, where the poll's lookup is a prepared statement (SQLite has none)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.processes import REPO, PostgresServer, django_env


@pytest.mark.slow
def test_the_feed_poll_tests_pass_on_postgresql(tmp_path) -> None:
    postgres = PostgresServer()
    postgres.start()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "tests/scheduling/ical/test_feed_polls.py",
                "tests/scheduling/ical/test_ical_http.py",
            ],
            cwd=REPO,
            env=django_env(
                DATABASE_URL=postgres.url(), ONCALL_DATA_DIR=str(tmp_path / "data")
            ),
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        postgres.destroy()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # Every test ran, the PostgreSQL-only one included: nothing skipped.
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout
