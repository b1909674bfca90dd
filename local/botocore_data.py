"""botocore's data for the layer's services, slimmed: `python -m local.botocore_data LAYER_PYTHON_DIR`.

`make build` runs it on the built layer (.aws-sam/build/PolicyLayer/python). It reads that layer's own botocore
data (so the version always matches) and writes, into the layer's consent_guard/botocore_data/, what a client of
each service in consent_guard.aws.SERVICES loads when it is created, in plain (uncompressed) JSON:

- the service model (latest API version) with its documentation strings emptied (docstrings are all they feed;
  about 80% of each file);
- the endpoint rule set, as it is;
- the endpoint table (endpoints.json, 1.2 MB: every service of every partition) with the services of each
  partition cut to those; the partitions, their regions and defaults are kept whole, so a region resolves as
  before.

consent_guard.aws puts that directory first on the loader's search path when it exists. Everything else (other
API versions, paginators, waiters, extras, other services' models) still comes from botocore's own data, which is
untouched. tests/unit/test_botocore_data.py checks that clients built on the slim data resolve the same endpoints
and have the same operations and shapes as botocore's own.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path
from typing import Any

# emptied, not dropped: botocore reads some of them by key (a client context parameter's documentation)
EMPTIED_KEYS = frozenset({"documentation", "documentationUrl"})


def _read(path: Path) -> Any:
    if path.exists():
        return json.loads(path.read_bytes())
    return json.loads(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the key order is kept: a structure's members are serialized in it (rest-xml's elements)
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


def without_documentation(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: "" if k in EMPTIED_KEYS else without_documentation(v) for k, v in node.items()}
    if isinstance(node, list):
        return [without_documentation(v) for v in node]
    return node


def latest_version(service_dir: Path) -> Path:
    versions = sorted(
        d for d in service_dir.iterdir() if d.is_dir() and any(f.name.startswith("service-2.json") for f in d.iterdir())
    )
    if not versions:
        raise SystemExit(f"no service model under {service_dir}")
    return versions[-1]


def slim(botocore_data: Path, out: Path, services: tuple[str, ...]) -> list[Path]:
    """Write the slim data of `services` from `botocore_data` into `out` (replaced whole); the files written."""
    shutil.rmtree(out, ignore_errors=True)
    endpoints = _read(botocore_data / "endpoints.json")
    for partition in endpoints["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in services}
    _write(out / "endpoints.json", endpoints)
    for service in services:
        version = latest_version(botocore_data / service)
        target = out / service / version.name
        _write(target / "service-2.json", without_documentation(_read(version / "service-2.json")))
        _write(target / "endpoint-rule-set-1.json", _read(version / "endpoint-rule-set-1.json"))
    return sorted(out.rglob("*.json"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        raise SystemExit("usage: python -m local.botocore_data LAYER_PYTHON_DIR")
    layer = Path(argv[0])
    sys.path.insert(0, str(layer))  # the layer's own consent_guard: its SERVICES and SLIM_DATA_DIR
    from consent_guard import aws

    written = slim(layer / "botocore" / "data", layer / "consent_guard" / aws.SLIM_DATA_DIR, aws.SERVICES)
    size = sum(p.stat().st_size for p in written)
    sys.stdout.write(f"botocore data for {', '.join(aws.SERVICES)}: {len(written)} files, {size // 1024} KiB\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
