"""Set up Django on a throwaway database for a benchmark.

Imported first by each scheduling ``bench/*.py``: a temporary data directory and the
schema migrated, nothing touching the developer's ``var/`` database.  SQLite by
default; ``--postgres`` on the command line starts a throwaway PostgreSQL cluster
(the test harness's, ``make test`` installs the server) and benchmarks against it.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ONCALL_DATA_DIR", tempfile.mkdtemp(prefix="oncall-bench-"))
# DEBUG off, as in production: no per-query logging overhead in the figures.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + os.urandom(16).hex())
os.environ.setdefault("ALLOWED_HOSTS", "localhost")

if "--postgres" in sys.argv:
    sys.argv.remove("--postgres")
    from tests.processes import PostgresServer

    _server = PostgresServer()
    _server.start()
    atexit.register(_server.destroy)
    os.environ["DATABASE_URL"] = _server.url()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
