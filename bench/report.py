"""bench/results.json and the printed table."""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO


@dataclass
class Metric:
    name: str
    value: float
    unit: str
    baseline: float | None
    ratio: float | None
    goal: str
    met: bool
    why: str = ""  # printed in the closing note when the goal is missed; not part of results.json's schema

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("why")
        for key in ("value", "baseline", "ratio"):
            if isinstance(data[key], float):
                data[key] = None if math.isnan(data[key]) else round(data[key], 4)
        return data


def ratio(value: float, baseline: float | None) -> float | None:
    return value / baseline if baseline else None


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
        memory = f", {memory_gib:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        memory = ""
    return (
        f"{cpu} ({platform.machine()}), {os.cpu_count()} CPUs{memory}, {platform.system()} {platform.release()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def write_results(path: Path, metrics: list[Metric], details: dict[str, Any]) -> dict[str, Any]:
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "metrics": [m.as_json() for m in metrics],
        "details": details,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return document


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or math.isnan(value):
        return "-"
    if unit == "USD":
        return f"${value:,.2f}"
    if (float(value).is_integer() and abs(value) < 1e6) or abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip() if unit else text


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if value >= 0.01 else f"{value:.1e}x"


def table(metrics: list[Metric], out: TextIO) -> None:
    rows = [("metric", "value", "baseline", "ratio", "goal", "met")]
    for m in metrics:
        unit = "" if m.unit in ("x",) else m.unit
        rows.append(
            (
                m.name,
                _fmt(m.value, unit),
                _fmt(m.baseline, unit),
                _ratio(m.ratio),
                m.goal,
                "yes" if m.met else "NO",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:4], widths[1:4], strict=True)]
        cells += [row[4].ljust(widths[4]), row[5]]
        out.write("  ".join(cells) + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def closing_note(metrics: list[Metric], out: TextIO) -> None:
    missed = [m for m in metrics if not m.met]
    if not missed:
        out.write("\nAll goals met.\n")
        return
    out.write(f"\nGoals not met ({len(missed)} of {len(metrics)}):\n")
    for m in missed:
        if math.isnan(m.value):
            out.write(f"  - {m.name}: not measured - {m.why}\n")
            continue
        out.write(f"  - {m.name}: {_fmt(m.value, m.unit)} against {m.goal} - {m.why}\n")
