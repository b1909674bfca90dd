"""A fresh interpreter that imports from the layer (shared/) only: what one function's process would load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SITE = next(p for p in sys.path if p.endswith("site-packages"))


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


def function_probe(folder: str, code: str, env: dict[str, str] | None = None) -> Any:
    """Run `code` as one function's process would: a fresh `-I -S -B` interpreter whose sys.path starts with the
    function's folder, shared/ (the layer) and this venv's site-packages (/var/task, /opt/python); it prints one
    JSON value (its last line), returned."""
    preamble = f"import sys\nsys.path[:0] = {[str(ROOT / 'functions' / folder), str(ROOT / 'shared'), SITE]!r}\n"
    proc = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-I", "-S", "-B", "-c", preamble + code],
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
