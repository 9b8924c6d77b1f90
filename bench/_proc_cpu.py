"""The CPU time a process tree has spent, from ``/proc``: what the benches
charge to the server, PostgreSQL and redis around a measured run (it moves much
less with the machine's load than latency does)."""

from __future__ import annotations

import os
from pathlib import Path


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def tree_cpu_seconds(roots: list[int]) -> float:
    """User + system CPU of the live processes under (and including) ``roots``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    wanted = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                grew = True
    return sum(_ticks(pid) for pid in wanted) / os.sysconf("SC_CLK_TCK")
