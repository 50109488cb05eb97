"""App tests import the UI helpers next to app.py (``dorasim_app``) from the repository root.

AppTest runs the app in this process: results are stored in a temporary folder (never the user's
``~/.cache``) and the start-up warm-up thread stays off, so each test computes only what it shows.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DORASIM_CACHE_DIR", tempfile.mkdtemp(prefix="dorasim-app-tests-"))
os.environ.setdefault("DORASIM_NO_WARMUP", "1")
