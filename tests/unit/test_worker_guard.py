"""Worker processes end with the process that started them (no orphans after a kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HOST = textwrap.dedent("""
    import threading, time
    from sim.analysis.parallel import run_tasks
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # a threaded host, like the app
    # the shared pool is made by a thread that then ends (as a page run of the app does) ...
    maker = threading.Thread(target=run_tasks, args=(pow, [(2, 3)] * 4), kwargs={"workers": 2})
    maker.start()
    maker.join()
    # ... and still serves the next run
    assert run_tasks(pow, [(2, 3)] * 4, workers=2) == [8] * 4
    print("ready", flush=True)
    time.sleep(60)
""")


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for line in subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout.splitlines()[
        1:
    ]:
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the guard uses Linux's parent-death signal")
def test_a_killed_host_leaves_no_worker_behind():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    host = subprocess.Popen(
        [sys.executable, "-c", HOST], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    try:
        assert host.stdout is not None and host.stdout.readline().strip() == "ready"
        workers = _descendants(host.pid)
        assert len(workers) >= 3  # the fork server and two workers (and the resource tracker)
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)]


UNGUARDED_HOST = textwrap.dedent("""
    import sys, threading, time, types
    from sim.analysis.parallel import run_tasks
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # a threaded host, like the app
    # Streamlit points the main module at the script it runs; each worker re-imports that script
    main = types.ModuleType("__main__")
    main.__file__ = sys.argv[1]
    sys.modules["__main__"] = main
    assert run_tasks(pow, [(2, 3)] * 4, workers=2) == [8] * 4
    print("ready", flush=True)
    time.sleep(60)
""")


def _depth(root: int, pid: int) -> int:
    depth = 0
    while pid != root:
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        depth += 1
    return depth


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")
def test_a_worker_importing_an_unguarded_script_starts_no_pool_of_its_own(tmp_path):
    script = tmp_path / "page.py"  # a script without a __main__ guard that runs replications on import
    script.write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "from sim.analysis.parallel import run_tasks\n"
        "run_tasks(pow, [(2, 3)] * 4, workers=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    host = subprocess.Popen(
        [sys.executable, "-c", UNGUARDED_HOST, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert host.stdout is not None and host.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # a pool of pools would be growing now
        family = [pid for pid in _descendants(host.pid) if _alive(pid)]
        # the fork server, its two workers and the resource tracker; nothing below a worker
        assert len(family) <= 4, family
        assert max(_depth(host.pid, pid) for pid in family) <= 2
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()


def test_the_app_script_imported_by_a_worker_draws_and_runs_nothing(monkeypatch):
    import runpy

    import streamlit

    import sim.analysis.parallel

    def refuse(*args, **kwargs):
        raise AssertionError("the app ran something while being imported by a worker")

    monkeypatch.setattr(streamlit, "set_page_config", refuse)
    monkeypatch.setattr(sim.analysis.parallel, "run_tasks", refuse)
    namespace = runpy.run_path(str(ROOT / "app.py"), run_name="__mp_main__")
    assert callable(namespace["main"])
