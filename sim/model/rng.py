"""Named random streams (NEP 19 / SPEC 7) with cheap scalar draws.

Each replication owns one ``numpy.random.Generator`` per source of randomness, seeded from
``SeedSequence(entropy=root_seed, spawn_key=(replication, stream index))`` — seeds depend only
on the replication number, so serial and parallel runs draw the same numbers, and changing one
lever does not reshuffle the draws of another source (common random numbers).

Scalar draws are served from blocks drawn in bulk: the sequence is still fully determined by
the seed, and the simulation avoids NumPy's per-call overhead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

STREAMS = (
    "work",
    "branches",
    "ci",
    "quality",
    "release",
    "production",
    "restore",
    "adoption",
    "parameters",
    "release_gaps",
    "release_prep",
    "release_lines",
)
_BLOCK = 512


def stream_generator(root_seed: int, replication: int, name: str) -> np.random.Generator:
    index = STREAMS.index(name)
    return np.random.default_rng(np.random.SeedSequence(entropy=root_seed, spawn_key=(replication, index)))


class Stream:
    """A generator with buffered scalar ``uniform``, ``exponential`` and ``gamma`` draws.

    Each kind of draw comes from its own block of ``_BLOCK`` values drawn in bulk, read through a
    list iterator (the cheapest way to hand out one float at a time); a new block is drawn when
    one runs out, so the sequence is fully determined by the seed.
    """

    __slots__ = ("_exp", "_gammas", "_uni", "generator")

    def __init__(self, generator: np.random.Generator):
        self.generator = generator
        self._uni: Iterator[float] = iter(())
        self._exp: Iterator[float] = iter(())
        self._gammas: dict[float, Iterator[float]] = {}

    def uniform(self) -> float:
        """One U(0, 1) draw."""
        try:
            return next(self._uni)
        except StopIteration:
            self._uni = iter(self.generator.random(_BLOCK).tolist())
            return next(self._uni)

    def _standard_exponential(self) -> float:
        try:
            return next(self._exp)
        except StopIteration:
            self._exp = iter(self.generator.standard_exponential(_BLOCK).tolist())
            return next(self._exp)

    def exponential(self, mean: float) -> float:
        if mean <= 0:
            return 0.0
        return self._standard_exponential() * mean

    def exponentials(self, n: int) -> np.ndarray:
        """The next ``n`` standard exponential draws: exactly the values ``n`` calls of
        ``exponential(1.0)`` would give, from the same blocks (so the two can be mixed)."""
        out = np.empty(n)
        head = np.fromiter(itertools.islice(self._exp, n), dtype=float)  # what is left of the current block
        filled = len(head)
        out[:filled] = head
        while filled < n:
            block = self.generator.standard_exponential(_BLOCK)
            take = min(_BLOCK, n - filled)
            out[filled : filled + take] = block[:take]
            filled += take
            self._exp = iter(block[take:].tolist())
        return out

    def gamma(self, mean: float, cv: float) -> float:
        """A positive duration with the given mean and coefficient of variation (cv 0 = fixed; 1 = exponential)."""
        if mean <= 0:
            return 0.0
        if cv < 1e-3:  # practically fixed (and 1/cv² would overflow for tiny cv)
            return mean
        if cv == 1.0:
            return self._standard_exponential() * mean
        shape = 1.0 / (cv * cv)
        pool = self._gammas.get(shape)
        if pool is not None:
            try:
                return next(pool) * (mean / shape)
            except StopIteration:
                pass
        pool = self._gammas[shape] = iter(self.generator.standard_gamma(shape, _BLOCK).tolist())
        return next(pool) * (mean / shape)


def replication_streams(root_seed: int, replication: int) -> dict[str, Stream]:
    """One named stream per source of randomness for replication ``replication``."""
    return {name: Stream(stream_generator(root_seed, replication, name)) for name in STREAMS}
