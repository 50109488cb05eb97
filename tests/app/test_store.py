"""The app's result store: one computation per key, kept across restarts, never reused for other numbers."""

from __future__ import annotations

import threading

import pytest

from dorasim_app import store


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DORASIM_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_result_is_computed_once_and_read_back(folder):
    calls = []
    compute = lambda: calls.append(1) or {"value": 1.5, "none": None}  # noqa: E731
    assert store.get_or_compute("run", {"reps": 3}, compute) == {"value": 1.5, "none": None}
    assert store.get_or_compute("run", {"reps": 3}, compute) == {"value": 1.5, "none": None}
    assert calls == [1]
    assert len(list(folder.glob("*.json"))) == 1


def test_the_key_holds_the_version_and_the_model_fingerprint(folder, monkeypatch):
    before = store.key("run", {"reps": 3})
    assert store.key("run", {"reps": 4}) != before
    assert store.key("plan", {"reps": 3}) != before
    monkeypatch.setattr(store, "model_digest", lambda: "another model")
    assert store.key("run", {"reps": 3}) != before
    monkeypatch.setattr(store.sim, "__version__", "9.9.9")
    assert store.key("run", {"reps": 3}) != before


def test_a_damaged_file_is_recomputed(folder):
    store.get_or_compute("run", {"x": 1}, lambda: {"v": 1})
    (path,) = folder.glob("*.json")
    path.write_text("{not json", encoding="utf-8")
    assert store.get_or_compute("run", {"x": 1}, lambda: {"v": 2}) == {"v": 2}


def test_off_keeps_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("DORASIM_CACHE_DIR", "off")
    assert store.get_or_compute("run", {"x": 1}, lambda: {"v": 1}) == {"v": 1}
    assert store.folder() is None


def test_concurrent_callers_wait_for_the_computation_under_way(folder):
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow():
        calls.append(1)
        started.set()
        release.wait(5)
        return {"v": 1}

    first = threading.Thread(target=store.get_or_compute, args=("run", {"x": 2}, slow))
    first.start()
    started.wait(5)
    waited = []
    second = threading.Thread(target=lambda: waited.append(store.get_or_compute("run", {"x": 2}, slow)))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert calls == [1] and waited == [{"v": 1}]
