"""Named random streams (NEP 19 / SPEC 7) with cheap scalar draws.

Each replication owns one ``numpy.random.Generator`` per source of randomness, seeded from
``SeedSequence(entropy=root_seed, spawn_key=(replication, stream index))`` — seeds depend only
on the replication number, so serial and parallel runs draw the same numbers, and changing one
lever does not reshuffle the draws of another source (common random numbers).

Scalar draws are served from blocks drawn in bulk: the sequence is still fully determined by
the seed, and the simulation avoids NumPy's per-call overhead.
"""

from __future__ import annotations

import numpy as np

STREAMS = ("work", "branches", "ci", "quality", "release", "production", "restore", "adoption")
_BLOCK = 512


def stream_generator(root_seed: int, replication: int, name: str) -> np.random.Generator:
    index = STREAMS.index(name)
    return np.random.default_rng(np.random.SeedSequence(entropy=root_seed, spawn_key=(replication, index)))


class Stream:
    """A generator with buffered scalar ``uniform``, ``exponential`` and ``gamma`` draws."""

    __slots__ = ("_exp", "_gammas", "_i_exp", "_i_uni", "_uni", "generator")

    def __init__(self, generator: np.random.Generator):
        self.generator = generator
        self._uni: list[float] = []
        self._i_uni = 0
        self._exp: list[float] = []
        self._i_exp = 0
        self._gammas: dict[float, list] = {}

    def uniform(self) -> float:
        """One U(0, 1) draw."""
        i = self._i_uni
        if i >= len(self._uni):
            self._uni = self.generator.random(_BLOCK).tolist()
            i = 0
        self._i_uni = i + 1
        return self._uni[i]

    def exponential(self, mean: float) -> float:
        if mean <= 0:
            return 0.0
        i = self._i_exp
        if i >= len(self._exp):
            self._exp = self.generator.standard_exponential(_BLOCK).tolist()
            i = 0
        self._i_exp = i + 1
        return self._exp[i] * mean

    def exponentials(self, n: int) -> np.ndarray:
        """The next ``n`` standard exponential draws: exactly the values ``n`` calls of
        ``exponential(1.0)`` would give, from the same blocks (so the two can be mixed)."""
        out = np.empty(n)
        filled = 0
        while filled < n:
            if self._i_exp >= len(self._exp):
                self._exp = self.generator.standard_exponential(_BLOCK).tolist()
                self._i_exp = 0
            take = min(n - filled, len(self._exp) - self._i_exp)
            out[filled:filled + take] = self._exp[self._i_exp:self._i_exp + take]
            self._i_exp += take
            filled += take
        return out

    def gamma(self, mean: float, cv: float) -> float:
        """A positive duration with the given mean and coefficient of variation (cv 0 = fixed; 1 = exponential)."""
        if mean <= 0:
            return 0.0
        if cv < 1e-3:  # practically fixed (and 1/cv² would overflow for tiny cv)
            return mean
        if cv == 1.0:
            return self.exponential(mean)
        shape = 1.0 / (cv * cv)
        pool = self._gammas.get(shape)
        if pool is None or pool[1] >= len(pool[0]):
            pool = [self.generator.standard_gamma(shape, _BLOCK).tolist(), 0]
            self._gammas[shape] = pool
        value = pool[0][pool[1]]
        pool[1] += 1
        return value * (mean / shape)


def replication_streams(root_seed: int, replication: int) -> dict[str, Stream]:
    """One named stream per source of randomness for replication ``replication``."""
    return {name: Stream(stream_generator(root_seed, replication, name)) for name in STREAMS}
