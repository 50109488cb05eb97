"""The model's engine shortcuts (sim/model/flow/engine.py) against SimPy's own behaviour.

Each shortcut must do exactly what the SimPy construct it replaces does: the same events in the same
order; a model run with the written-out loop equals one with ``simpy.Environment.run(until=)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import simpy

from sim.model.catalog import shipped_path
from sim.model.delivery import DeliveryModel
from sim.model.flow.engine import (
    RUNNER_TOKEN,
    Environment,
    Later,
    QueueNow,
    StartNow,
    drop_pending,
    give_back,
    nothing_else_due,
    take_free,
)
from sim.model.records import SimulationRecords
from sim.model.rng import replication_streams
from sim.model.scenario import load_scenario
from tests.golden.same_records import assert_same_records


def _order_with_simpy(env: simpy.Environment, log: list[str]) -> None:
    def proc(name: str):
        log.append(name)
        yield env.timeout(0)

    def at_one():
        yield env.timeout(1.0)
        log.append("timeout")
        env.process(proc("process started at 1"))
        env.timeout(0).callbacks.append(lambda _e: log.append("zero timeout at 1"))

    env.process(at_one())
    env.timeout(1.0).callbacks.append(lambda _e: log.append("other timeout at 1"))


def _order_with_steps(env: simpy.Environment, log: list[str]) -> None:
    def at_one(_event: object) -> None:
        log.append("timeout")
        StartNow(env, lambda _e: log.append("process started at 1"))
        QueueNow(env, lambda _e: log.append("zero timeout at 1"))

    # a process first starts (an urgent event), then its timeout is scheduled
    StartNow(env, lambda _e: Later(env, 1.0, at_one))
    Later(env, 1.0, lambda _e: log.append("other timeout at 1"))


def test_steps_run_in_the_order_simpy_runs_processes_and_timeouts() -> None:
    expected: list[str] = []
    env = simpy.Environment()
    _order_with_simpy(env, expected)
    env.run()
    got: list[str] = []
    steps = simpy.Environment()
    _order_with_steps(steps, got)
    steps.run()
    assert got == expected
    assert expected.index("process started at 1") < expected.index("zero timeout at 1")


def test_nothing_else_due_sees_the_events_due_now() -> None:
    env = simpy.Environment()
    seen: list[bool] = []
    Later(env, 1.0, lambda _e: seen.append(nothing_else_due(env)))
    Later(env, 1.0, lambda _e: seen.append(nothing_else_due(env)))
    Later(env, 2.0, lambda _e: seen.append(nothing_else_due(env)))
    env.run()
    assert seen == [False, True, True]


def _pool_grants(use_token: bool, capacity: int, holds: list[float]) -> list[tuple[int, float]]:
    """(who, when granted) for users arriving at 0, 0.5, 1.0, ... holding a slot ``holds[i]`` hours."""
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=capacity)
    grants: list[tuple[int, float]] = []

    def user(i: int):
        yield env.timeout(0.5 * i)
        if use_token and take_free(pool):
            holder: object = RUNNER_TOKEN
        else:
            holder = pool.request()
            yield holder
        grants.append((i, env.now))
        yield env.timeout(holds[i])
        give_back(pool, holder)

    for i in range(len(holds)):
        env.process(user(i))
    env.run()
    return grants


@pytest.mark.parametrize("capacity", [1, 2, 3])
def test_taking_a_free_runner_grants_what_a_request_would(capacity: int) -> None:
    holds = np.random.default_rng(capacity).exponential(2.0, 40).tolist()
    assert _pool_grants(True, capacity, holds) == _pool_grants(False, capacity, holds)


def test_dropping_pending_steps_empties_the_queue() -> None:
    env = simpy.Environment()
    Later(env, 5.0, lambda _e: None)
    env.run(until=1.0)
    drop_pending(env)
    assert env.peek() == float("inf")


def test_run_to_refuses_a_time_in_the_past() -> None:
    env = Environment()
    with pytest.raises(ValueError, match="must be greater than the current simulation time"):
        env.run_to(0.0)


def _run(name: str, loop: Callable[[Environment, float], None]) -> SimulationRecords:
    scenario = load_scenario(shipped_path(name), {"days": 45})
    model = DeliveryModel(scenario, replication_streams(scenario.seed, 0))
    model.env.run_to = lambda at: loop(model.env, at)  # type: ignore[method-assign]
    return model.run()


@pytest.mark.parametrize("name", ["baseline", "elite", "heroics", "org_baseline"])
def test_the_written_out_loop_gives_what_simpy_run_until_gives(name: str) -> None:
    assert_same_records(_run(name, Environment.run_to), _run(name, lambda env, at: env.run(until=at)))
