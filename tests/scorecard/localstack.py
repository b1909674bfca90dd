"""The local stack (`python -m local`) as a subprocess for the checks that go over real HTTP."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local.process import running_stack

STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunningStack:
    url: str
    moto_url: str
    log: Path

    def log_text(self, offset: int = 0) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def aws(self, service: str, config: Any = None) -> Any:
        """A boto3 client on the stack's moto server (to look at what the functions stored)."""
        return boto3.client(
            service,
            config=config,
            endpoint_url=self.moto_url,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def items(self, item_type: str | None = None) -> list[dict[str, Any]]:
        """Every item of the table (a Scan: fine for a test stack), optionally of one `type`."""
        ddb = self.aws("dynamodb")
        out: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName="cg-ConsentGuardTable"):
            out.extend(page["Items"])
        if item_type is None:
            return out
        return [i for i in out if i.get("type", {}).get("S") == item_type]


def server_errors(log_text: str) -> list[str]:
    """The `function error` entries of a stack log, each with the stack frames the runner logged."""
    entries: list[str] = []
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        if "function error" in line or "gateway error" in line:
            block = [line]
            for follow in lines[index + 1 :]:
                if follow.startswith(("  ", "    ")) or not re.match(r"^(\d{4}-|\{)", follow):
                    block.append(follow)
                else:
                    break
            entries.append("\n".join(block))
    return entries


@contextmanager
def local_stack(*extra_args: str) -> Iterator[RunningStack]:
    """Start the stack on free ports, wait (bounded) until it serves, stop it afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="scorecard-stack-"))
    with running_stack(workdir, *extra_args, timeout=STARTUP_TIMEOUT) as (url, log):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        found = re.search(r"moto at (http://[0-9.]+:\d+)", log.read_text())
        while found is None and time.monotonic() < deadline:
            time.sleep(0.1)
            found = re.search(r"moto at (http://[0-9.]+:\d+)", log.read_text())
        if found is None:
            raise RuntimeError("the local stack did not print its moto URL")
        yield RunningStack(url=url, moto_url=found.group(1), log=log)
