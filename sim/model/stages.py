"""The stages of a change's lead time: where the hours between commit and production go.

A change on a long-lived branch first waits for its branch to merge (``on_branch``); on trunk it
waits for its review instead (``in_review``); a hotfix waits for neither.

Every change the model deploys records the hours it spent in each stage, and the stages add up
to its lead time. A stage is *active* when someone works on the change during it (resolving a
conflict, running the suite, fixing what it caught, deploying); the others are waiting, and
flow efficiency = active hours / lead time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    key: str  # key in ``lead_time_breakdown``
    label: str  # what the change is doing (or waiting for) in this stage
    active: bool  # worked on (True) or waiting (False)


STAGE_TABLE: tuple[Stage, ...] = (
    Stage("on_branch", "waiting on the branch", False),
    Stage("in_review", "waiting for review", False),
    Stage("merge_conflicts", "resolving merge conflicts", True),
    Stage("ci_queue", "waiting for a CI runner", False),
    Stage("ci_running", "running the test suite", True),
    Stage("ci_fixing", "fixing what CI caught", True),
    Stage("release_wait", "waiting for the release", False),
    Stage("deploying", "deploying", True),
)
STAGES: tuple[str, ...] = tuple(s.key for s in STAGE_TABLE)
ACTIVE_STAGES: tuple[str, ...] = tuple(s.key for s in STAGE_TABLE if s.active)
STAGE_LABELS: dict[str, str] = {s.key: s.label for s in STAGE_TABLE}
