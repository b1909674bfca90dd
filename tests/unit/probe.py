"""A fresh interpreter that imports from the layer (shared/) only: what one function's process would load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def probe(code: str, env: dict[str, str] | None = None) -> Any:
    """Run `code` in this interpreter with only shared/ added to the path (and `env` beside it); it prints one JSON
    value, returned."""
    out = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)
