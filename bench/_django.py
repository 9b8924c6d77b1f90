"""Set up Django on a throwaway SQLite database for a benchmark.

Imported first by each ``bench/*.py``: a temporary data directory, the schema
migrated, nothing touching the developer's ``var/`` database.  Set
``DATABASE_URL`` to benchmark against PostgreSQL instead.
"""

from __future__ import annotations

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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
