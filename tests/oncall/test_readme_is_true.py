"""The README tells the truth (issue 11, item 11): its Alertmanager configurations
are accepted by ``amtool check-config``, its commands run from a fresh clone, and
the files it names exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.amtool import amtool_check

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
REPO = Path(__file__).resolve().parents[2]


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


ALERTMANAGER_CONFIGS = re.findall(
    r"```yaml\n(.*?)```", section("Connecting Alertmanager"), re.S
)


def test_the_alertmanager_section_has_its_three_configurations() -> None:
    assert len(ALERTMANAGER_CONFIGS) == 3


@pytest.mark.parametrize("config", ALERTMANAGER_CONFIGS)
def test_amtool_accepts_each_alertmanager_configuration(config: str) -> None:
    checked = amtool_check(config)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_manage_py_is_run_with_the_venvs_python() -> None:
    # `python` on a fresh machine is not the venv's (make run makes .venv); inside
    # the container (docker compose run ... python) it is.
    for line in README.splitlines():
        for found in re.finditer(r"(\S*python3?) manage\.py", line):
            if "docker compose" in line:
                continue
            assert found.group(1).endswith(".venv/bin/python"), line


def exists(name: str) -> bool:
    if "/" in name:
        return (REPO / name).exists()
    return any(".venv" not in p.parts for p in REPO.glob(f"**/{name}"))


def test_the_files_it_names_exist() -> None:
    # Named as homes for what is coming, and said to be not there yet (none now).
    mark = "Homes reserved for what is coming"
    reserved = README[README.index(mark) :] if mark in README else ""
    named = set(re.findall(r"`([\w./-]+\.(?:py|md|yml|yaml|toml|json))`", README))
    named |= set(
        re.findall(r"`((?:alerts|scheduling|oncall|bench|scripts)/[\w./-]*)`", README)
    )
    named.discard("alertmanager.yml")  # Alertmanager's configuration, not ours
    named = {n for n in named if not n.startswith("/api/")}  # URLs, not files
    missing = [
        name
        for name in sorted(named)
        if not exists(name) and f"`{name}`" not in reserved
    ]
    assert missing == []
    assert "DESIGN.md" not in README
