"""DORA performance bands (docs/scoring.md): contiguous cut-offs for the 2023 and 2021 benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import InputError
from sim.metrics.registry import BY_KEY, METRIC_OF_BAND

BANDS = ("elite", "high", "medium", "low")
BAND_RANK = {band: rank for rank, band in enumerate(BANDS)}  # 0 = best
BENCHMARKS = ("2023", "2021")


@dataclass(frozen=True)
class Cutoffs:
    """Thresholds for elite, high and medium; anything beyond medium is low.

    ``higher_is_better`` metrics (deployment frequency) pass a band when value >= cut-off.
    Lower-is-better metrics pass when value < cut-off, or <= when ``inclusive``.
    """

    elite: float
    high: float
    medium: float
    higher_is_better: bool = False
    inclusive: bool = False

    def band(self, value: float | None) -> str | None:
        if value is None:
            return None
        for name, cut in (("elite", self.elite), ("high", self.high), ("medium", self.medium)):
            if self.higher_is_better:
                if value >= cut:
                    return name
            elif (value <= cut) if self.inclusive else (value < cut):
                return name
        return "low"


def _cut(band_key: str, elite: float, high: float, medium: float, inclusive: bool = False) -> Cutoffs:
    """Cut-offs of one key metric; its direction comes from the metric registry."""
    return Cutoffs(elite, high, medium, BY_KEY[METRIC_OF_BAND[band_key]].higher_is_better, inclusive)


CUTOFFS: dict[str, dict[str, Cutoffs]] = {
    "2023": {
        "deployment_frequency": _cut("deployment_frequency", 1.0, 1 / 7, 12 / 365),
        "lead_time": _cut("lead_time", 24.0, 168.0, 730.0),
        "change_failure_rate": _cut("change_failure_rate", 0.05, 0.10, 0.15, inclusive=True),
        "time_to_restore": _cut("time_to_restore", 1.0, 24.0, 168.0),
    },
    "2021": {
        "deployment_frequency": _cut("deployment_frequency", 1.0, 12 / 365, 2 / 365),
        "lead_time": _cut("lead_time", 1.0, 168.0, 4380.0),
        "change_failure_rate": _cut("change_failure_rate", 0.15, 0.20, 0.30, inclusive=True),
        "time_to_restore": _cut("time_to_restore", 1.0, 24.0, 168.0),
    },
}


def check_benchmark(benchmark: str | int) -> str:
    text = str(benchmark)
    if text not in CUTOFFS:
        raise InputError(f"--benchmark: {text!r} is not a known benchmark; choose 2023 or 2021")
    return text


def band_of(key: str, value: float | None, benchmark: str = "2023") -> str | None:
    """Band of one key metric (``key`` is a band name such as ``"lead_time"``)."""
    return CUTOFFS[check_benchmark(benchmark)][key].band(value)


def overall_band(bands: dict[str, str | None]) -> str | None:
    """The lowest of the four key bands.

    A key without data (no failed deployments, so no restore time) has no band and does not
    lower the overall band; ``None`` only when no key has a value.
    """
    values = [band for key in METRIC_OF_BAND if (band := bands.get(key)) is not None]
    if not values:
        return None
    return max(values, key=lambda b: BAND_RANK[b])


def bands_for(metrics: dict[str, float | None], benchmark: str = "2023") -> dict[str, str | None]:
    """All four key bands plus ``overall`` from a metrics dict keyed by JSON metric keys."""
    out = {key: band_of(key, metrics.get(metric), benchmark) for key, metric in METRIC_OF_BAND.items()}
    out["overall"] = overall_band(out)
    return out
