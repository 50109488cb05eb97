"""Closed forms the model's mechanisms follow, for teaching and for checking the model against theory.

- A deployment of ``n`` changes, each escaping to production with probability ``p``, fails with
  probability ``1 − (1 − p)^n`` (independent defects).
- A pool of ``c`` CI runners fed by Poisson arrivals with exponential run times is an M/M/c queue;
  the mean wait for a free runner follows Erlang C.
"""

from __future__ import annotations

import math

from sim.errors import InputError


def batch_failure_probability(p: float, n: int | float) -> float:
    """P(at least one of ``n`` changes carries an escaped defect) = 1 − (1 − p)^n."""
    if not 0.0 <= p <= 1.0:
        raise InputError(f"p = {p!r}: must be a probability between 0 and 1")
    if n < 0:
        raise InputError(f"n = {n!r}: must be >= 0")
    return 1.0 - (1.0 - p) ** n


def escape_probability(defect_rate: float, detection_rate: float, suite_run_share: float = 1.0) -> float:
    """Share of changes that reach production with a defect: defects the suite did not catch.

    ``suite_run_share`` is the share of changes whose suite actually ran (a skipped suite catches nothing).
    """
    for name, value in (
        ("defect_rate", defect_rate),
        ("detection_rate", detection_rate),
        ("suite_run_share", suite_run_share),
    ):
        if not 0.0 <= value <= 1.0:
            raise InputError(f"{name} = {value!r}: must be a probability between 0 and 1")
    return defect_rate * (1.0 - detection_rate * suite_run_share)


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C); 1.0 when the queue is unstable.

    ``offered_load`` a = arrival rate × mean service time (in erlangs).
    """
    if servers < 1:
        raise InputError(f"servers = {servers!r}: must be >= 1")
    if offered_load < 0:
        raise InputError(f"offered_load = {offered_load!r}: must be >= 0")
    if offered_load == 0:
        return 0.0
    if offered_load >= servers:
        return 1.0
    # Erlang B by its stable recurrence, then C from B
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    rho = offered_load / servers
    return b / (1.0 - rho + rho * b)


def mmc_mean_wait(arrival_rate: float, service_time: float, servers: int) -> float:
    """Mean time in queue (same unit as ``service_time``) of an M/M/c queue; ``inf`` when overloaded."""
    if arrival_rate < 0 or service_time <= 0:
        raise InputError("arrival_rate must be >= 0 and service_time > 0")
    load = arrival_rate * service_time
    if load >= servers:
        return math.inf
    if load == 0:
        return 0.0
    return erlang_c(servers, load) * service_time / (servers - load)
