"""`make run`: python -m local [--port 3000] [--schedule-seconds 60] [--visibility-timeout 5] ..."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from local.template import ROOT


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Run consent-guard locally: moto for AWS, the template's functions behind an emulated HTTP API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve the HTTP API on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="HTTP API port; 0 picks a free one (default 3000)")
    parser.add_argument("--moto-port", type=int, default=0, help="moto server port; 0 picks a free one (default)")
    parser.add_argument(
        "--schedule-seconds",
        type=float,
        default=60.0,
        help="invoke the scheduled function this often; 0 = only on demand via POST /local/schedule/run (default 60)",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=5,
        help="VisibilityTimeout of the queues functions consume, overriding the template's (default 5 s)",
    )
    parser.add_argument(
        "--region", default=os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1", help="AWS region (default eu-west-1)"
    )
    parser.add_argument("--ready-file", type=Path, help="write the base URL to this file once serving (for tests)")
    parser.add_argument(
        "--code-root",
        type=Path,
        default=ROOT,
        help="directory holding the template's CodeUri folders (default: the repository; for testing the runner)",
    )
    parser.add_argument(
        "--concurrent",
        action="store_true",
        help="let different functions run at the same time (default: one invocation at a time in the whole process, "
        "because the functions share the layer's module-level objects here; see docs/local-stack.md)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=ROOT / ".local" / "state",
        help="where the state is journaled, so a crash or restart loses nothing accepted (default .local/state)",
    )
    parser.add_argument("--reset", action="store_true", help="delete the saved state first and start clean")
    parser.add_argument("--in-memory", action="store_true", help="keep no state: everything is lost at exit")
    parser.add_argument("--fsync", action="store_true", help="fsync the journal on every change (power-loss safe)")
    parser.add_argument(
        "--tdb-rate",
        type=float,
        default=200.0,
        help="the fake Transparency Database answers 429 above this many requests per second (default 200, as the "
        "real one per user; 0 = no limit)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging (local routes, raw HTTP lines)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if noisy != "werkzeug" else logging.ERROR)

    from local.stack import LocalStack, StackConfig  # moto and boto3 imports: after arguments parse

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("local_stack").info("stopping signal=%s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    started = time.perf_counter()
    state_dir = None if args.in_memory else args.state_dir.resolve()
    if args.reset and state_dir is not None and state_dir.exists():
        shutil.rmtree(state_dir)
        logging.getLogger("local_stack").info("state reset dir=%s", state_dir)
    stack = LocalStack(
        StackConfig(
            host=args.host,
            port=args.port,
            moto_port=args.moto_port,
            schedule_seconds=args.schedule_seconds,
            visibility_timeout=args.visibility_timeout,
            region=args.region,
            code_root=args.code_root.resolve(),
            ready_file=args.ready_file,
            serial=not args.concurrent,
            state_dir=state_dir,
            fsync=args.fsync,
            tdb_rate=args.tdb_rate,
        )
    )
    try:
        stack.start()
    except OSError as exc:  # typically the port is taken
        logging.getLogger("local_stack").error(
            "cannot start error=%s detail=%s (port taken? try PORT=3001)", type(exc).__name__, exc
        )
        stack.stop()
        return 1
    print(stack.banner(), flush=True)
    log = logging.getLogger("local_stack")
    log.info("ready url=%s startup_ms=%d", stack.base_url, (time.perf_counter() - started) * 1000)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        stopping = time.perf_counter()
        stack.stop()
        log.info("stopped stop_ms=%d", (time.perf_counter() - stopping) * 1000)
    return 0


if __name__ == "__main__":
    status = main()
    # Everything is stopped and the journal closed; skip the interpreter's teardown of moto and the functions'
    # module graph (seconds of finalisers that protect nothing), so Ctrl-C returns the prompt at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
