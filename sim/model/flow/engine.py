"""The one place that touches SimPy's internals: cheap steps and the runner-pool shortcut.

The model's flows are chains of steps (no generator per merge unit or deployment). Each step is a
SimPy event whose callback is the next step, scheduled in SimPy's own queue and order:

- :class:`StartNow` runs a step before anything else due now, as SimPy starts a new process (URGENT);
- :class:`QueueNow` runs it after everything already due now, as SimPy grants a resource (NORMAL);
- :class:`Later` runs it ``hours`` from now, as a timeout does.

So the order of simultaneous steps, and of every random draw, is the one a process-per-step model
has. :func:`nothing_else_due` lets a step that would be queued for now run at once when nothing
else is due at this instant (the very point SimPy would have run it).

:meth:`Environment.run_to` is ``run(until=)`` with its step loop written out. SimPy is pinned in
pyproject.toml to the versions these shortcuts are tested with (``tests/unit/test_engine.py`` runs
them against SimPy's own ``timeout``, ``process``, ``Resource.request`` and ``run(until=)``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT

Process = Generator[simpy.Event, Any, None]
StepFunction = Callable[[simpy.Event], None]


class _Step(simpy.Event):
    """An event triggered when it is made, whose one callback is the next step (no process needed).

    Each kind below writes SimPy's ``schedule`` out in its own constructor, so a step costs one call.
    """


class StartNow(_Step):
    """Run ``step`` before anything else due now, as SimPy starts a new process (URGENT)."""

    def __init__(self, env: simpy.Environment, step: StepFunction) -> None:
        self.env = env
        self.callbacks = [step]
        self._value = None
        self._ok = True
        heappush(env._queue, (env._now, URGENT, next(env._eid), self))  # env.schedule, inlined


class QueueNow(_Step):
    """Run ``step`` after everything already due now, as SimPy grants a resource (NORMAL)."""

    def __init__(self, env: simpy.Environment, step: StepFunction) -> None:
        self.env = env
        self.callbacks = [step]
        self._value = None
        self._ok = True
        heappush(env._queue, (env._now, NORMAL, next(env._eid), self))


class Later(_Step):
    """Run ``step`` ``hours`` from now, as a timeout fires (NORMAL)."""

    def __init__(self, env: simpy.Environment, hours: float, step: StepFunction) -> None:
        self.env = env
        self.callbacks = [step]
        self._value = None
        self._ok = True
        heappush(env._queue, (env._now + hours, NORMAL, next(env._eid), self))


def nothing_else_due(env: simpy.Environment) -> bool:
    """Whether nothing else is due at this instant: a step queued for now would run next anyway."""
    queue = env._queue
    return not queue or queue[0][0] > env._now


RUNNER_TOKEN = object()  # stands for a SimPy request in a pool's users when a free runner is taken


def take_free(pool: simpy.Resource) -> bool:
    """Take a free slot of ``pool`` without building a request (nobody waits and one is free).

    The token joins the pool's users as a granted request would; :func:`give_back` frees it.
    """
    if len(pool.users) < pool.capacity and not pool.put_queue:
        pool.users.append(RUNNER_TOKEN)  # type: ignore[arg-type]  # SimPy types its users as requests
        return True
    return False


def give_back(pool: simpy.Resource, holder: object) -> None:
    """Free the slot held by ``holder`` (a granted request or the token of :func:`take_free`)."""
    if pool.put_queue:  # someone waits: SimPy grants them the slot when it processes the release
        pool.release(holder)  # type: ignore[arg-type]
    else:
        pool.users.remove(holder)  # type: ignore[arg-type]


class Environment(simpy.Environment):
    """SimPy's environment, with :meth:`run_to`: ``run(until=at)`` with its step loop written out.

    The events, their queue and their order are SimPy's; only the per-event method call of
    :meth:`simpy.Environment.step` is saved (about 2 % of a run, when a change costs three events).
    The model never stops the simulation from inside an event, so SimPy's ``StopSimulation`` handling
    has nothing to do here; a failed event that nobody defused crashes the run as it does in SimPy.
    """

    def run_to(self, at: float) -> None:
        """Process every event due before ``at`` (and the urgent ones due at ``at`` scheduled earlier),
        exactly as ``run(until=at)`` does, and leave the clock at ``at``."""
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        until = simpy.Event(self)
        until._ok = True
        until._value = None
        self.schedule(until, URGENT, at - self._now)  # before every regular event due at ``at``
        queue = self._queue
        while True:
            self._now, _, _, event = heappop(queue)
            if event is until:
                until.callbacks = None  # type: ignore[assignment]  # processed, as SimPy marks it
                return
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]  # as SimPy's step
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)  # as SimPy crashes the environment
                exc.__cause__ = event._value
                raise exc


def drop_pending(env: simpy.Environment) -> None:
    """Forget the steps still pending beyond the horizon: they point back at the model, and dropping
    them lets it be freed at once by reference counting instead of by the cycle collector."""
    env._queue.clear()
