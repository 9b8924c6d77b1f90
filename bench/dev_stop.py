"""How long Ctrl-C on ``make run`` takes, and what it logs.

Starts ``honcho -f Procfile.dev start`` exactly as ``make run`` does (DEBUG=1, the
venv on PATH; a throwaway data directory and port), waits until the web server
answers, the worker is ready and beat has started, sends SIGINT to honcho (what
Ctrl-C does) and prints how long until honcho exited, and every line logged after
the SIGINT (error lines, and honcho's SIGKILL if a process outlived its 5 s).

    .venv/bin/python bench/dev_stop.py [--runs N]   (make bench-dev-stop)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dev_stack import DevStack, manage

ERROR = re.compile(r"ERROR|CRITICAL|Traceback|exited with|SIGKILL")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="oncall-stop-") as tmp:
        data_dir = Path(tmp)
        manage(data_dir, "migrate", "-v0")
        times = []
        for run in range(args.runs):
            stack = DevStack(data_dir)
            stack.start()
            try:
                stack.wait_ready()
                time.sleep(1.0)  # the first beat ticks run, as before a real Ctrl-C
                took, after = stack.interrupt()
            finally:
                stack.kill()
            times.append(took)
            errors = [line for line in after if ERROR.search(line)]
            print(
                f"run {run + 1}: Ctrl-C to exit {took:.2f} s, {len(errors)} error lines"
            )
            for line in after:
                print("   ", line)
        print(f"Ctrl-C to exit: min {min(times):.2f} s, max {max(times):.2f} s")


if __name__ == "__main__":
    main()
