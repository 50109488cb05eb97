"""Peak resident memory one replication adds per simulated change (used by ``python -m sim bench``)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

MEMORY_ORG = ["team.engineers=500", "org.teams=50", "days=365", "ci.runners=400", "operations.experts=50"]

_MEMORY_PROBE = """
import gc, json, sys
from sim.analysis.runner import run_replication
from sim.model.catalog import shipped_path
from sim.model.scenario import load_scenario
scenario = load_scenario(shipped_path("elite"), sys.argv[1:])
run_replication(scenario.with_values({"days": 3, "simulation.warmup_days": 1}), 1, 0)  # imports and code paths
gc.collect()
def status(key):
    return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1])
with open("/proc/self/clear_refs", "w") as refs:  # the peak so far (and any inherited one) starts again here
    refs.write("5")
before = status("VmRSS")
result = run_replication(scenario, 1, 0)
print(json.dumps({"before_kb": before, "peak_kb": status("VmHWM"), "changes": result.simulated_changes}))
"""


def memory_per_change() -> dict[str, Any]:
    """Peak resident memory one replication adds, per simulated change (a fresh process; Linux)."""
    if not sys.platform.startswith("linux"):
        return {}
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, *MEMORY_ORG], capture_output=True, text=True, check=True
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    growth = (probe["peak_kb"] - probe["before_kb"]) * 1024
    changes = probe["changes"]
    return {
        "scenario": "elite, " + ", ".join(MEMORY_ORG),
        "changes": changes,
        "peak_rss_growth_bytes": growth,
        "bytes_per_change": growth / changes,
    }
