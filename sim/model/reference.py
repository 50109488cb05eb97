"""The parameter reference (README): every scenario key with unit, baseline value, range and source."""

from __future__ import annotations

from sim.model.catalog import shipped_path
from sim.model.scenario import load_scenario, parameter_info, parameter_keys


def _range(limits: dict) -> str:
    low = f"≥ {limits['ge']}" if "ge" in limits else (f"> {limits['gt']}" if "gt" in limits else "")
    high = f"≤ {limits['le']}" if "le" in limits else (f"< {limits['lt']}" if "lt" in limits else "")
    return ", ".join(part for part in (low, high) if part)


def markdown_table() -> str:
    baseline = load_scenario(shipped_path("baseline"))
    rows = ["| key | unit | baseline | range | source | meaning |", "|---|---|---|---|---|---|"]
    for key in parameter_keys():
        info = parameter_info(key)
        section, field = key.split(".")
        value = getattr(getattr(baseline, section), field)
        source = info["source"] + (f" — {info['cite']}" if info["cite"] else "")
        cells = (f"`{key}`", info["unit"], str(value), _range(info["limits"]), source, info["help"])
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
