"""Sweep files, designs, tornado/sensitivity arithmetic, the tidy table and resuming (sim.analysis.sweep)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.analysis.sweep as sweep_module
import sim.analysis.sweep_spec as sweep_spec_module
from sim.analysis.runner import ReplicationResult
from sim.analysis.stability import Backlog
from sim.analysis.sweep import (
    Lever,
    load_sweep,
    load_sweep_text,
    point_stable,
    point_stats,
    run_sweep,
    sensitivity_indices,
    sweep_from_dict,
    tornado,
    tornado_table,
)
from sim.analysis.sweep_table import TABLE_METRICS, read_done, table_frame, write_table
from sim.cli import main
from sim.errors import InputError
from sim.model.scenario import load_scenario

DATA = Path(__file__).parents[1] / "data" / "sweeps"
TINY_BASE = (DATA / "tiny_base.toml").as_posix()
SCENARIOS = Path(__file__).parents[2] / "scenarios"


def sweep_text(body: str, vary: str = '"ci.runners" = [1, 2, 4]') -> str:
    return f'base = "{TINY_BASE}"\n{body}\n[vary]\n{vary}\n'


# ----------------------------------------------------------------------------------------------
# validation: every rule is one line naming the file, the key, the value and the rule

BAD_SWEEPS = [
    # (top-level text, [vary] text, fragments the message must contain)
    ("point = 4", None, ["point", "did you mean 'points'"]),
    ('design = "random"', None, ["design", '"random"', "grid, lhs, sobol"]),
    ('design = "lhs"\npoints = 0', None, ["points = 0", "between 1"]),
    ('design = "grid"\npoints = 8', None, ["points = 8", "only for design"]),
    ('design = "sobol"\npoints = 50', None, ["points = 50", "power of 2"]),
    ("reps = 0", None, ["reps = 0", "between 1"]),
    ('reps = "ten"', None, ["reps", '"ten"', "whole number"]),
    ("levels = 5", None, ["levels = 5", "even"]),
    (
        'sensitivity = "sobol"\ntrajectories = 4',
        None,
        ["trajectories = 4", 'only for sensitivity = "morris"'],
    ),
    ('sensitivity = "sobol"\nsamples = 20', None, ["samples = 20", "power of 2"]),
    ('sensitivity = "fast"', None, ["sensitivity", '"fast"', "morris, sobol, none"]),
    ('benchmark = "2020"', None, ["benchmark", '"2020"', "2023"]),
    ("days = 0", None, ["days", "0", "greater than or equal to 1"]),
    ("", '"ci.runner" = [1, 2]', ["ci.runner", "did you mean 'ci.runners'"]),
    ("", '"days" = [30, 60]', ["days", "cannot vary"]),
    ("", '"ci.runners" = [0, 2]', ["[vary]", "ci.runners = 0", "greater than or equal to 1"]),
    ("", '"release.cadence" = ["weekly", "hourly"]', ["release.cadence", "hourly", "must be one of"]),
    (
        "",
        '"operations.automated_rollback" = { low = 0, high = 1 }',
        ["operations.automated_rollback", "{low = 0, high = 1}", "list of values"],
    ),
    ('design = "grid"', '"ci.runners" = { low = 1, high = 4 }', ["ci.runners", "a grid needs a list"]),
    ('design = "lhs"', '"ci.runners" = { low = 4, high = 1 }', ["ci.runners", "low must be below high"]),
    (
        'design = "lhs"',
        '"ci.runners" = { low = 1, high = 4, step = 1 }',
        ["ci.runners", "exactly low and high"],
    ),
    ('design = "lhs"', '"ci.runners" = { low = 1.5, high = 4 }', ["ci.runners = 1.5", "integer"]),
    ("", '"ci.runners" = [2]', ["ci.runners = [2]", "at least two values"]),
    ("", '"ci.runners" = [2, 2]', ["ci.runners = [2, 2]", "must all differ"]),
    ("", '"ci.runners" = 4', ["ci.runners = 4", "list of values or a"]),
    ("", '"ci.test_suite_minutes" = [10, "fast"]', ["ci.test_suite_minutes", "fast"]),
]


@pytest.mark.parametrize(("top", "vary", "fragments"), BAD_SWEEPS)
def test_bad_sweep_files_are_rejected_with_one_line(tmp_path, top, vary, fragments):
    path = tmp_path / "bad_sweep.toml"
    path.write_text(sweep_text(top) if vary is None else sweep_text(top, vary))
    with pytest.raises(InputError) as err:
        load_sweep(path)
    message = str(err.value)
    assert "\n" not in message
    assert "bad_sweep.toml" in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('design = "grid"\n[vary]\n"ci.runners" = [1, 2]\n', "base: missing"),
        ('base = "nowhere.toml"\n[vary]\n"ci.runners" = [1, 2]\n', "file not found"),
        ('base = 3\n[vary]\n"ci.runners" = [1, 2]\n', "must be a scenario file path"),
        (f'base = "{TINY_BASE}"\n', "[vary]: missing or empty"),
        (f'base = "{TINY_BASE}"\n[vary]\n', "[vary]: missing or empty"),
        (f'base = "{TINY_BASE}"\n[vary\n', "invalid TOML"),
    ],
)
def test_structural_mistakes_are_one_line(text, fragment):
    with pytest.raises(InputError) as err:
        load_sweep_text(text, "upload.toml", DATA)
    assert "\n" not in str(err.value)
    assert "upload.toml" in str(err.value) and fragment in str(err.value)


def test_base_is_relative_to_the_sweep_file_and_days_override_it():
    spec = load_sweep(DATA / "tiny.toml")
    assert spec.base.name == "tiny" and spec.base.days == 14
    assert spec.name == "tiny"
    spec = load_sweep_text(
        'base = "tiny_base.toml"\ndays = 7\n[vary]\n"ci.runners" = [1, 2]\n', "t.toml", DATA
    )
    assert spec.base.days == 7


def test_nested_vary_tables_mean_the_same_as_quoted_dotted_keys():
    quoted = load_sweep_text(sweep_text('design = "lhs"', '"ci.runners" = { low = 1, high = 4 }'), "a.toml")
    nested = load_sweep_text(sweep_text('design = "lhs"', "ci.runners = { low = 1, high = 4 }"), "a.toml")
    table = load_sweep_text(
        f'base = "{TINY_BASE}"\ndesign = "lhs"\n[vary.ci]\nrunners = {{ low = 1, high = 4 }}\n', "a.toml"
    )
    assert quoted.levers == nested.levers == table.levers


def test_values_are_stored_as_the_scenario_types():
    spec = load_sweep_text(
        sweep_text("", '"ci.test_suite_minutes" = [10, 60]\n"team.engineers" = [4, 8]'), "a"
    )
    assert spec.levers[0].values == (10.0, 60.0) and all(isinstance(v, float) for v in spec.levers[0].values)
    assert spec.levers[1].values == (4, 8) and spec.levers[1].kind == "int"


def test_design_defaults_to_grid_when_every_lever_is_a_list_else_lhs():
    assert load_sweep_text(sweep_text(""), "a").design == "grid"
    assert load_sweep_text(sweep_text("", '"ci.runners" = { low = 1, high = 3 }'), "a").design == "lhs"


# ----------------------------------------------------------------------------------------------
# levers and designs


def test_integer_range_maps_the_unit_interval_onto_equal_bins():
    lever = Lever("ci.runners", "int", low=1, high=4)
    u = (np.arange(4000) + 0.5) / 4000
    counts = np.bincount([lever.at(x) for x in u])
    assert list(counts[1:]) == [1000, 1000, 1000, 1000]
    assert lever.at(0.0) == 1 and lever.at(1.0) == 4


def test_list_lever_maps_onto_its_entries_in_order_and_its_ends_are_first_and_last():
    lever = Lever("release.cadence", "choice", values=("monthly", "weekly", "daily"))
    assert [lever.at(u) for u in (0.0, 0.34, 0.67, 1.0)] == ["monthly", "weekly", "daily", "daily"]
    assert lever.ends == ("monthly", "daily")
    ranged = Lever("team.overtime", "float", low=1.0, high=1.5)
    assert ranged.at(0.0) == 1.0 and ranged.at(1.0) == 1.5 and ranged.at(0.5) == 1.25
    assert ranged.ends == (1.0, 1.5)


def test_grid_runs_every_combination():
    spec = load_sweep_text(
        sweep_text("", '"ci.runners" = [1, 2, 4]\n"release.deploy" = ["manual", "automated"]'), "a"
    )
    values = spec.design_values()
    assert len(values) == spec.points == 6 and len(set(values)) == 6


def test_latin_hypercube_puts_one_point_in_each_stratum_of_every_lever():
    spec = load_sweep_text(
        sweep_text(
            'design = "lhs"\npoints = 10',
            '"team.overtime" = { low = 1.0, high = 2.0 }\n"ci.test_suite_minutes" = { low = 10, high = 110 }',
        ),
        "a",
    )
    values = np.array(spec.design_values())
    assert values.shape == (10, 2)
    for column, (low, width) in enumerate([(1.0, 0.1), (10.0, 10.0)]):
        strata = np.floor((values[:, column] - low) / width).astype(int)
        assert sorted(np.minimum(strata, 9)) == list(range(10))


def test_designs_depend_on_the_seed_only():
    text = sweep_text(
        'design = "sobol"\npoints = 8\nseed = {}', '"team.overtime" = { low = 1.0, high = 2.0 }'
    )
    a, b, c = (load_sweep_text(text.replace("{}", str(s)), "a").design_values() for s in (1, 1, 2))
    assert a == b and a != c and len(a) == 8


def test_plan_has_design_then_tornado_then_global_points():
    spec = load_sweep(DATA / "tiny.toml")
    points = spec.plan()
    parts = [p.part for p in points]
    n_levers = len(spec.levers)
    assert parts == ["design"] * spec.points + ["tornado"] * (2 * n_levers + 1) + ["morris"] * (
        spec.trajectories * (n_levers + 1)
    )
    tornado_points = [p for p in points if p.part == "tornado"]
    base = tornado_points[0].values
    for i, lever in enumerate(spec.levers):
        low, high = tornado_points[1 + 2 * i].values, tornado_points[2 + 2 * i].values
        assert (low[i], high[i]) == lever.ends
        assert all(low[j] == high[j] == base[j] for j in range(n_levers) if j != i)
    assert [p.id for p in points] == list(range(len(points)))


def test_fingerprint_changes_with_anything_that_changes_the_numbers():
    text = sweep_text('design = "lhs"\npoints = 4\nreps = 2', '"ci.runners" = { low = 1, high = 4 }')
    same = load_sweep_text(text, "a").fingerprint()
    assert load_sweep_text(text, "renamed").fingerprint() == same
    for change in ("reps = 2", "points = 4"):
        other = text.replace(change, change[:-1] + "3" if "reps" in change else change[:-1] + "5")
        assert load_sweep_text(other, "a").fingerprint() != same
    assert load_sweep_text(text.replace("high = 4", "high = 5"), "a").fingerprint() != same


def test_fingerprint_changes_with_the_simulator_build(monkeypatch):
    spec = load_sweep(DATA / "tiny.toml")
    before = spec.fingerprint()
    monkeypatch.setattr(sweep_spec_module, "model_digest", lambda: "another build")
    assert spec.fingerprint() != before


# ----------------------------------------------------------------------------------------------
# point summaries, tornado and global indices (no simulation needed)


def _result(k, df, lt, cfr, ttr, rework, overall):
    metrics = {
        "deployment_frequency_per_day": df,
        "lead_time_hours": lt,
        "change_failure_rate": cfr,
        "time_to_restore_hours": ttr,
        "rework_rate": rework,
    }
    return ReplicationResult(k, metrics, overall, {}, {}, 0, Backlog(0.0, 0.0, k == 3, 10, 1))


def test_point_stats_gives_percentiles_and_per_metric_band_shares():
    results = [
        _result(0, 2.0, 10.0, 0.0, 0.5, 0.0, "elite"),
        _result(1, 0.5, 30.0, 0.2, None, 0.2, None),
        _result(2, 0.05, 1000.0, 0.12, 30.0, 0.1, "low"),
        _result(3, 1.5, 20.0, 0.04, 2.0, 0.0, "high"),
    ]
    stats = point_stats(results)
    df = stats["deployment_frequency_per_day"]
    assert df["n"] == 4 and df["p50"] == pytest.approx(1.0) and df["mean"] == pytest.approx(1.0125)
    assert (df["p_elite"], df["p_high"], df["p_medium"], df["p_low"]) == (0.5, 0.25, 0.25, 0.0)
    ttr = stats["time_to_restore_hours"]
    assert ttr["n"] == 3 and ttr["p50"] == 2.0
    # shares are over all replications: one had no restore time, so the shares sum to 3/4
    assert ttr["p_elite"] + ttr["p_high"] + ttr["p_medium"] + ttr["p_low"] == pytest.approx(0.75)
    assert stats["rework_rate"]["p_elite"] is None  # rework rate has no published band
    overall = stats["overall"]
    assert overall["p50"] is None and (overall["p_elite"], overall["p_high"], overall["p_low"]) == (
        0.25,
        0.25,
        0.25,
    )
    assert overall["unstable_share"] == 0.25 and point_stable(stats)  # one runaway replication of four


def test_a_point_is_unstable_when_most_replications_run_away():
    results = [_result(k, 0.1, 2000.0, 0.5, 20.0, 0.5, "low") for k in (3, 3, 3, 0)]
    assert not point_stable(point_stats(results))


def _stats(p50s, unstable_share=0.0):
    stats = {metric: {"p50": p50s.get(metric)} for metric in TABLE_METRICS}
    stats["overall"]["unstable_share"] = unstable_share
    return stats


def test_tornado_sorts_by_swing_and_puts_missing_values_last():
    levers = (
        Lever("a.x", "float", low=0.0, high=1.0),
        Lever("b.y", "bool", values=(False, True)),
        Lever("c.z", "int", low=1, high=3),
    )
    metric = "lead_time_hours"
    stats = [
        _stats({metric: 10.0}),
        _stats({metric: 9.0}),
        _stats({metric: 12.0}),  # a.x: swing 3
        _stats({metric: 20.0}),
        _stats({metric: 5.0}),  # b.y: swing 15
        _stats({metric: None}),
        _stats({metric: 1.0}, unstable_share=1.0),
    ]  # c.z: undefined at its low
    rows = tornado_table(levers, stats)[metric]  # end, a runaway at its high
    assert [r["key"] for r in rows] == ["b.y", "a.x", "c.z"]
    assert rows[0] == {
        "key": "b.y",
        "low": 20.0,
        "high": 5.0,
        "swing": 15.0,
        "low_value": False,
        "high_value": True,
        "unstable": False,
        "unstable_at": [],
    }
    assert rows[2]["swing"] is None and rows[2]["unstable"] is True and rows[2]["unstable_at"] == ["high"]


def _spec_with(levers_text, extra=""):
    return load_sweep_text(sweep_text(f'design = "lhs"\npoints = 1\n{extra}', levers_text), "a")


LEVERS3 = (
    '"team.overtime" = { low = 1.0, high = 2.0 }\n"ci.test_suite_minutes" = { low = 10, high = 110 }\n'
    '"quality.fix_hours" = { low = 1, high = 5 }'
)


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_global_indices_rank_levers_by_their_effect(method):
    extra = (
        'sensitivity = "morris"\ntrajectories = 20'
        if method == "morris"
        else 'sensitivity = "sobol"\nsamples = 256'
    )
    spec = _spec_with(LEVERS3, extra)
    unit = spec.global_sample()
    # an additive response: the first lever matters 10x the second, the third not at all
    y = 10 * unit[:, 0] + 1 * unit[:, 1]
    stats = [_stats(dict.fromkeys(TABLE_METRICS[:-1], float(v))) for v in y]
    indices, warnings = sensitivity_indices(spec, unit, stats)
    table = indices["lead_time_hours"]
    assert warnings == []
    assert list(table) == ["team.overtime", "ci.test_suite_minutes", "quality.fix_hours"]
    assert table["quality.fix_hours"]["total"] == pytest.approx(0.0, abs=0.02)
    assert table["team.overtime"]["total"] > 5 * table["ci.test_suite_minutes"]["total"]
    # additive: nothing is interaction, so first order ~ total
    for values in table.values():
        assert values["first_order"] == pytest.approx(values["total"], abs=0.05)


def test_morris_first_order_drops_below_total_when_levers_interact():
    spec = _spec_with(LEVERS3, "trajectories = 20")
    unit = spec.global_sample()
    y = unit[:, 0] * unit[:, 1]  # neither lever does anything without the other
    stats = [_stats(dict.fromkeys(TABLE_METRICS[:-1], float(v))) for v in y]
    table = sensitivity_indices(spec, unit, stats)[0]["change_failure_rate"]
    for key in ("team.overtime", "ci.test_suite_minutes"):
        assert table[key]["first_order"] < 0.8 * table[key]["total"]
    assert sum(v["total"] for v in table.values()) == pytest.approx(1.0)


def test_morris_skips_trajectories_where_a_metric_is_undefined():
    spec = _spec_with(LEVERS3, "trajectories = 6")
    unit = spec.global_sample()
    y = [float(v) for v in 3 * unit[:, 0]]
    y[0] = None  # first trajectory unusable
    stats = [_stats(dict.fromkeys(TABLE_METRICS[:-1], v)) for v in y]
    table = sensitivity_indices(spec, unit, stats)[0]["lead_time_hours"]
    assert next(iter(table)) == "team.overtime"
    all_missing = [_stats({}) for _ in y]
    indices, warnings = sensitivity_indices(spec, unit, all_missing)
    assert indices["lead_time_hours"] == {} and len(warnings) == len(TABLE_METRICS) - 1


# ----------------------------------------------------------------------------------------------
# the tidy table and resuming


@pytest.fixture(scope="module")
def tiny_spec():
    return load_sweep(DATA / "tiny.toml")


@pytest.fixture(scope="module")
def tiny_result(tiny_spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "tiny.parquet"
    return run_sweep(tiny_spec, workers=1, out=out), out


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_table_round_trips_exactly(tiny_spec, tiny_result, tmp_path, suffix):
    stored = pd.read_parquet(tiny_result[1])
    points = tiny_spec.plan()
    done = read_done(tiny_result[1], tiny_spec.fingerprint(), tiny_spec.keys, points)
    assert sorted(done) == [p.id for p in points]
    copy = tmp_path / f"copy{suffix}"
    write_table(copy, table_frame(tiny_spec.fingerprint(), tiny_spec.keys, points, done))
    assert read_done(copy, tiny_spec.fingerprint(), tiny_spec.keys, points) == done
    assert len(stored) == len(points) * len(TABLE_METRICS)
    assert set(stored.columns) >= {
        "point",
        "part",
        "metric",
        "p10",
        "p50",
        "p90",
        "mean",
        "p_elite",
        *tiny_spec.keys,
    }


def test_table_of_another_sweep_or_not_a_table_is_refused(tiny_spec, tiny_result, tmp_path):
    other = load_sweep_text(
        (DATA / "tiny.toml").read_text().replace("seed = 3", "seed = 4"), "other.toml", DATA
    )
    with pytest.raises(InputError, match="different sweep"):
        run_sweep(other, workers=1, out=tiny_result[1])
    stray = tmp_path / "stray.csv"
    stray.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a sweep table"):
        run_sweep(tiny_spec, workers=1, out=stray)
    with pytest.raises(InputError, match=r"\.parquet or \.csv"):
        run_sweep(tiny_spec, workers=1, out=tmp_path / "table.xlsx")


def test_resume_recomputes_nothing_already_written(tiny_spec, tiny_result, tmp_path, monkeypatch):
    result, full = tiny_result
    table = pd.read_parquet(full)
    kept = table[table["point"] < 9].copy()
    kept["mean"] = -1.0  # a mark a recomputation would overwrite
    partial = tmp_path / "partial.parquet"
    kept.to_parquet(partial, index=False)

    calls = []
    real = sweep_module.run_point
    monkeypatch.setattr(sweep_module, "run_point", lambda *task: calls.append(task[0]) or real(*task))
    resumed = run_sweep(tiny_spec, workers=1, out=partial)

    points = tiny_spec.plan()
    kept_values = {p.values for p in points if p.id < 9}
    missing = {p.values for p in points if p.id >= 9} - kept_values
    assert len(calls) == len(missing)  # each missing setting once, nothing that was written
    after = pd.read_parquet(partial)
    reused = after[list(tiny_spec.keys)].apply(tuple, axis=1).isin(kept_values)
    assert (after.loc[reused, "mean"] == -1.0).all()  # written (or identical) points kept as they were
    assert (after.loc[~reused, "mean"] != -1.0).all()
    assert resumed == result  # the summary reads p50s, which the marks left alone


def test_interrupted_sweep_resumes_to_the_same_answer(tiny_spec, tiny_result, tmp_path, monkeypatch):
    out = tmp_path / "interrupted.csv"

    def stop_after(done, total):
        if out.exists():  # the first point after the first checkpoint: Ctrl-C
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(tiny_spec, workers=1, out=out, callback=stop_after)
    written = pd.read_csv(out)
    assert 0 < written["point"].nunique() < len(tiny_spec.plan())  # the first batch was saved

    calls = []
    real = sweep_module.run_point
    monkeypatch.setattr(sweep_module, "run_point", lambda *task: calls.append(1) or real(*task))
    resumed = run_sweep(tiny_spec, workers=1, out=out)
    assert resumed == tiny_result[0]
    done_before = {
        tuple(r) for r in written.drop_duplicates("point")[list(tiny_spec.keys)].itertuples(index=False)
    }
    all_values = {p.values for p in tiny_spec.plan()}
    assert len(calls) == len(all_values) - len(done_before & all_values)


def test_same_sweep_gives_the_same_json_whatever_the_worker_count(tiny_spec, tiny_result):
    assert run_sweep(tiny_spec, workers=2) == tiny_result[0]


# ----------------------------------------------------------------------------------------------
# the quick tornado for the app, and the command line


def test_quick_tornado_validates_and_shapes_its_answer():
    base = load_scenario(DATA / "tiny_base.toml").with_values({"days": 7})
    with pytest.raises(InputError, match=re.escape("did you mean 'ci.runners'")):
        tornado(base, {"ci.runner": (1, 4)}, reps=1)
    with pytest.raises(InputError, match=re.escape("ci.runners = 0")):
        tornado(base, {"ci.runners": (0, 4)}, reps=1)
    result = tornado(base, {"release.cadence": ("weekly", "daily")}, reps=2, seed=5, workers=1)
    assert result["reps"] == 2 and result["seed"] == 5
    row = result["tornado"]["deployment_frequency_per_day"][0]
    assert row["key"] == "release.cadence" and (row["low_value"], row["high_value"]) == ("weekly", "daily")
    assert row["low"] == result["base_p50"]["deployment_frequency_per_day"]  # weekly is the base


def test_cli_rejects_a_bad_sweep_with_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(sweep_text("", '"ci.runners" = [0, 2]'))
    assert main(["sweep", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "bad.toml" in captured.err and "ci.runners = 0" in captured.err


@pytest.mark.parametrize(
    "args", [["--executor", "local", "--scheduler", "tcp://127.0.0.1:1"], ["--out", "table.xlsx"]]
)
def test_cli_rejects_bad_options_with_exit_2(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(DATA / "tiny.toml"), *args]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_json_is_one_document_with_the_design_keys(tmp_path, capsys, tiny_result):
    out = tmp_path / "t.csv"
    assert main(["sweep", str(DATA / "tiny.toml"), "--workers", "1", "--out", str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"sweep", "points", "reps", "tornado", "sensitivity"} <= set(document)
    assert document == tiny_result[0]
    for rows in document["tornado"].values():
        swings = [r["swing"] for r in rows if r["swing"] is not None]
        assert swings == sorted(swings, reverse=True)
    for indices in document["sensitivity"].values():
        for values in indices.values():
            assert {"first_order", "total"} <= set(values)
            assert all(v is None or math.isfinite(v) for v in values.values())


def test_cli_table_names_the_levers_that_matter(capsys, tiny_result, tmp_path):
    out = tmp_path / "again.parquet"
    assert main(["sweep", str(DATA / "tiny.toml"), "--workers", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Which levers matter most" in text and "release.cadence" in text
    assert main(["sweep", str(DATA / "tiny.toml"), "--workers", "1", "--out", str(out)]) == 0
    assert "resuming: 19 of 19 points" in capsys.readouterr().err


def test_shipped_sweep_puts_process_levers_next_to_heroics():
    spec = load_sweep(SCENARIOS / "sweep_levers.toml")
    assert set(spec.keys) == {
        "ci.test_suite_minutes",
        "ci.runners",
        "branching.branch_lifetime_days",
        "release.max_batch_size",
        "release.cadence",
        "release.deploy",
        "operations.automated_rollback",
        "team.overtime",
        "team.engineers",
    }
    assert spec.base.name == "baseline" and spec.sensitivity == "morris"
    assert len(spec.plan()) * spec.reps <= 1000  # a couple of minutes on two cores


def test_sweep_from_dict_accepts_a_scenario_as_base():
    base = load_scenario(DATA / "tiny_base.toml")
    spec = sweep_from_dict({"vary": {"ci.runners": [1, 2]}}, source="app", base=base)
    assert spec.base is base and spec.design == "grid" and spec.points == 2


def test_ranked_levers_put_a_runaway_end_after_the_steady_levers():
    from sim.analysis.sweep import ranked_levers

    rows = [
        {"key": "a", "swing": 9.0, "unstable": True},
        {"key": "b", "swing": 3.0, "unstable": False},
        {"key": "c", "swing": 0.0, "unstable": False},
        {"key": "d", "swing": 5.0, "unstable": False},
    ]
    # tornado rows come sorted by swing; a lever that does not move the metric is left out
    assert [r["key"] for r in ranked_levers(sorted(rows, key=lambda r: -r["swing"]))] == ["d", "b", "a"]
