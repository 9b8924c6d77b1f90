"""Every environment variable the service reads has a row in the README's table."""

from __future__ import annotations

import re

import oncall.celery
import oncall.granian_server  # reads WEB_* (and GUNICORN_*)
import oncall.gunicorn_conf  # noqa: F401 - reads GUNICORN_*
from oncall.env import NAMES_READ
from tests.processes import REPO

# Test-only knobs, deliberately not part of the operator's documentation.
UNDOCUMENTED = {"ONCALL_TEST_DB"}


def documented_names() -> set[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_every_variable_read_is_documented():
    missing = sorted(NAMES_READ - documented_names() - UNDOCUMENTED)
    assert missing == [], f"add these to the README configuration table: {missing}"


def test_the_readme_documents_no_variable_nothing_reads():
    stale = sorted(documented_names() - NAMES_READ - {"PROMETHEUS_MULTIPROC_DIR"})
    assert stale == [], f"README documents variables nothing reads: {stale}"
