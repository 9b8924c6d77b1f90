"""``amtool check-config`` on a piece of alertmanager.yml (Debian's
prometheus-alertmanager ships amtool; ``make test`` installs it)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


def amtool_check(config: str) -> subprocess.CompletedProcess:
    binary = shutil.which("amtool")
    if binary is None:
        raise RuntimeError(
            "amtool is not installed; `make test` installs it "
            "(scripts/ensure-system-packages prometheus-alertmanager)"
        )
    with tempfile.TemporaryDirectory(prefix="amtool-") as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(config)
        return subprocess.run(
            [binary, "check-config", str(path)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
