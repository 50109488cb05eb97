"""The comparison's plain words live in :mod:`sim.report.story`, shared by the app and the reports."""

from sim.report.story import (
    changed_keys,
    changes_per_week,
    describe_changes,
    effort,
    explain,
    hours_per_week,
    movement,
    output_sentence,
    show_value,
)

__all__ = [
    "changed_keys",
    "changes_per_week",
    "describe_changes",
    "effort",
    "explain",
    "hours_per_week",
    "movement",
    "output_sentence",
    "show_value",
]
