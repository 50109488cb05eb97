"""The command line without its optional extras, and a fast ``--help``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_commands_without_importing_the_numeric_stack():
    code = (
        "import sys\nfrom sim.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(m for m in ('pandas', 'pydantic', 'numpy', 'simpy') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    *listing, imported = done.stdout.splitlines()
    assert "forecast" in "\n".join(listing) and "calibrate" in "\n".join(listing)
    assert imported.strip() == ""


def test_sweep_without_the_sweep_extra_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    sweep = tmp_path / "tiny.toml"
    sweep.write_text(
        f'base = "{ROOT / "scenarios" / "baseline.toml"}"\ndesign = "grid"\nreps = 1\nseed = 1\n'
        'sensitivity = "morris"\ntrajectories = 2\n[vary]\n"ci.runners" = [1, 4]\n'
    )
    for name in [
        "SALib",
        *[m for m in sys.modules if m.startswith("SALib.")],
    ]:  # as if SALib were not installed
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["sweep", str(sweep), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert (
        "SALib is not installed" in err
        and "pip install 'dorasim[sweep]'" in err
        and 'sensitivity = "none"' in err
    )


def test_compare_report_without_the_report_extra_says_the_charts_are_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # as if vl-convert-python were not installed
    report = tmp_path / "compare.html"
    assert (
        main(
            ["compare", "baseline", "elite", "--reps", "1", "--days", "7", "--report", str(report), "--json"]
        )
        == 0
    )
    assert report.exists()
    err = capsys.readouterr().err
    assert "without charts" in err and "pip install 'dorasim[report]'" in err


def test_compare_names_scenarios_that_share_a_name_after_their_files(tmp_path, capsys):
    base = (ROOT / "scenarios" / "baseline.toml").read_text(encoding="utf-8")
    (tmp_path / "ours.toml").write_text(
        base.replace('name = "baseline"', 'name = "calibrated"'), encoding="utf-8"
    )
    (tmp_path / "ours_trunk.toml").write_text(
        'extends = "ours.toml"\n[branching]\nstrategy = "trunk"\n', encoding="utf-8"
    )
    assert (
        main(
            [
                "compare",
                str(tmp_path / "ours.toml"),
                str(tmp_path / "ours_trunk.toml"),
                "--reps",
                "1",
                "--days",
                "7",
                "--json",
            ]
        )
        == 0
    )
    import json

    document = json.loads(capsys.readouterr().out)
    assert [s["scenario"] for s in document["scenarios"]] == ["ours", "ours_trunk"]
    assert document["reference"] == "ours" and list(document["deltas"]) == ["ours_trunk"]
