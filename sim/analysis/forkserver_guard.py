"""Imported by the fork server only (its preload list): it ends when the process that started it ends."""

from sim.analysis.worker_guard import die_with_parent

die_with_parent()
