"""Invariants of DORA scoring over generated logs (Hypothesis)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.metrics.scoring import score

BASE = pd.Timestamp("2024-03-01", tz="UTC")
SPAN_MINUTES = 14 * 24 * 60
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

minutes = st.integers(min_value=0, max_value=SPAN_MINUTES)


@st.composite
def event_logs(draw):
    """Small logs with every awkward case: re-shipped and unknown change ids, open incidents,
    incidents without a change or naming an unknown deployment, negative lead times."""
    change_times = draw(st.lists(minutes, max_size=8))
    change_ids = [f"C{i}" for i in range(len(change_times))]
    listable = st.lists(st.sampled_from([*change_ids, "X1"]), max_size=4).map(" ".join)
    deploys = draw(st.lists(st.tuples(minutes, listable, st.booleans()), max_size=6))
    deploy_ids = [f"D{i}" for i in range(len(deploys))]
    incidents = draw(
        st.lists(
            st.tuples(
                minutes,
                st.one_of(st.none(), st.integers(0, 3 * 24 * 60)),
                st.one_of(st.none(), st.sampled_from([*deploy_ids, "D404"])),
            ),
            max_size=5,
        )
    )
    return _stamped(
        pd.DataFrame({"change_id": change_ids, "time_created": change_times}),
        pd.DataFrame(
            {
                "deploy_id": deploy_ids,
                "time_created": [d[0] for d in deploys],
                "change_ids": [d[1] for d in deploys],
                "unplanned": [d[2] for d in deploys],
            }
        ).astype({"unplanned": bool}),
        pd.DataFrame(
            {
                "incident_id": [f"I{i}" for i in range(len(incidents))],
                "time_created": [i[0] for i in incidents],
                "time_resolved": [None if i[1] is None else i[0] + i[1] for i in incidents],
                "deploy_id": pd.Series([i[2] for i in incidents], dtype=object),
            }
        ),
    )


def _stamped(changes, deployments, incidents):
    """Minutes after BASE → UTC timestamps (None stays missing)."""

    def at(values):
        offsets = pd.to_timedelta(pd.Series(values, dtype="float64"), unit="min")
        return (BASE + offsets).astype("datetime64[ns, UTC]")

    changes = changes.assign(time_created=at(changes["time_created"]))
    deployments = deployments.assign(time_created=at(deployments["time_created"]))
    incidents = incidents.assign(
        time_created=at(incidents["time_created"]), time_resolved=at(incidents["time_resolved"])
    )
    return changes, deployments, incidents


windows = st.one_of(st.none(), st.tuples(st.integers(-2, 10), st.integers(1, 10)))


def _bounds(window, shift_days=0):
    if window is None:
        return {}
    first, days = window
    start = BASE + pd.Timedelta(days=first + shift_days)
    return {"start": start, "end": start + pd.Timedelta(days=days)}


@PROPERTY_SETTINGS
@given(event_logs(), windows, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(logs, window, random):
    shuffled = []
    for frame in logs:
        order = list(range(len(frame)))
        random.shuffle(order)
        shuffled.append(frame.iloc[order].reset_index(drop=True))
    assert score(*shuffled, **_bounds(window)) == score(*logs, **_bounds(window))


@PROPERTY_SETTINGS
@given(event_logs(), windows)
def test_rates_are_shares(logs, window):
    metrics = score(*logs, **_bounds(window))["metrics"]
    for key in ("change_failure_rate", "rework_rate"):
        assert metrics[key] is None or 0.0 <= metrics[key] <= 1.0


@PROPERTY_SETTINGS
@given(event_logs(), windows, st.integers(-3000, 3000))
def test_shifting_every_timestamp_by_whole_days_changes_nothing(logs, window, days):
    changes, deployments, incidents = logs
    shift = pd.Timedelta(days=days)
    moved = (
        changes.assign(time_created=changes["time_created"] + shift),
        deployments.assign(time_created=deployments["time_created"] + shift),
        incidents.assign(
            time_created=incidents["time_created"] + shift, time_resolved=incidents["time_resolved"] + shift
        ),
    )
    before, after = score(*logs, **_bounds(window)), score(*moved, **_bounds(window, days))
    if window is None:  # the inferred window's dates move with the logs; nothing else may change
        before["warnings"], after["warnings"] = before["warnings"][1:], after["warnings"][1:]
    assert after == before


@PROPERTY_SETTINGS
@given(event_logs(), windows, minutes, st.one_of(st.none(), st.integers(0, 5000)))
def test_an_incident_without_a_deploy_id_never_changes_failure_rate_or_restore_time(
    logs, window, at, lasting
):
    changes, deployments, incidents = logs
    resolved = BASE + pd.Timedelta(minutes=at + lasting) if lasting is not None else pd.NaT
    extra = pd.DataFrame(
        {
            "incident_id": ["EXTRA"],
            "time_created": pd.Series([BASE + pd.Timedelta(minutes=at)], dtype="datetime64[ns, UTC]"),
            "time_resolved": pd.Series([resolved], dtype="datetime64[ns, UTC]"),
            "deploy_id": [None],
        }
    )
    before = score(changes, deployments, incidents, **_bounds(window))["metrics"]
    after = score(changes, deployments, pd.concat([incidents, extra], ignore_index=True), **_bounds(window))[
        "metrics"
    ]
    for key in ("change_failure_rate", "time_to_restore_hours"):
        assert after[key] == before[key]


@PROPERTY_SETTINGS
@given(event_logs(), windows, st.lists(st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15), min_size=1))
def test_the_same_instants_written_with_any_offsets_score_the_same(logs, window, offsets):
    def as_text(column):
        text = []
        for i, stamp in enumerate(column):
            if pd.isna(stamp):
                text.append("")
                continue
            offset = pd.Timedelta(minutes=offsets[i % len(offsets)])
            local = (stamp + offset).tz_localize(None).isoformat()
            sign, minutes_ = (
                ("+", offset.total_seconds() // 60)
                if offset >= pd.Timedelta(0)
                else ("-", -offset.total_seconds() // 60)
            )
            text.append(f"{local}{sign}{int(minutes_ // 60):02d}:{int(minutes_ % 60):02d}")
        return pd.Series(text, dtype="str")

    changes, deployments, incidents = logs
    written = (
        changes.assign(time_created=as_text(changes["time_created"])),
        deployments.assign(time_created=as_text(deployments["time_created"])),
        incidents.assign(
            time_created=as_text(incidents["time_created"]), time_resolved=as_text(incidents["time_resolved"])
        ),
    )
    assert score(*written, **_bounds(window)) == score(*logs, **_bounds(window))
