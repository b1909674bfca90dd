"""Move every message of a dead-letter queue back to its source queue on a running local stack.

python -m local.redrive --url http://127.0.0.1:3000 --queue NotificationDLQ
"""

from __future__ import annotations

import argparse
import sys

import httpx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="base URL of the local stack")
    parser.add_argument("--queue", default="NotificationDLQ", help="logical id of the DLQ in template.yaml")
    args = parser.parse_args(argv)
    try:
        response = httpx.post(f"{args.url.rstrip('/')}/local/queues/{args.queue}/redrive", timeout=60)
    except httpx.TransportError as exc:
        print(f"no local stack at {args.url} ({type(exc).__name__}): start it with `make run`", file=sys.stderr)
        return 2
    payload = response.json()
    if response.status_code != 200:
        print(f"redrive failed ({response.status_code}): {payload.get('message', payload)}", file=sys.stderr)
        return 1
    print(f"moved {payload['moved']} message(s) from {payload['queue']} to {payload['source_queue']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
