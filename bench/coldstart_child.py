"""One cold start, in a fresh interpreter, laid out like Lambda's python3.13 runtime.

Run as `python -I -S -B coldstart_child.py <spec.json>` (isolated, no site-packages, no bytecode writes: Lambda's
code directory is read-only). Only the standard library is imported before the clock starts; `sys.path` is the
function directory, then the layer, then the standard library, exactly as in /var/task and /opt/python.

Modes:
  handler   import the function's `app` module (Lambda's Init phase), then invoke `lambda_handler` with the first
            event (the rest of the first request's cold work: settings, clients, schemas, templates); the time
            inside AWS calls is measured with botocore hooks and reported apart. Further events are warm
            invocations, run for the memory figure.
  baseline  `import boto3; boto3.client("dynamodb")`.
  baseline-tuned  the same, given what the product's Init gets (consent_guard.startup, consent_guard.aws): the
            collector paused, and the spec's `slim` botocore data first on the loader's path. Reported beside the
            judged ratio, so that what those two save everyone is not mistaken for what the product saves itself.
  code      exec the spec's `code` (its lines joined by U+001E, the spec being one line per key): what bench/marginal.py
            times, with and without one piece.

Every phase is timed twice: CPU time of this process (`time.process_time`: user + system, what a loaded machine
does not inflate) and wall time beside it. The time inside AWS calls (between botocore's before-call and
after-call: signing, the request to the moto server, parsing) is measured in both clocks and subtracted.

Writes one JSON document to the path in the spec.
"""

import sys
import time

_clock = time.perf_counter
_cpu = time.process_time
_compiled: list[str] = []


def _count_source_compiles() -> None:
    """Count modules compiled from source during the import: with the shipped bytecode used, there are none."""
    external = sys.modules["_frozen_importlib_external"]
    original = external.SourceLoader.source_to_code

    def source_to_code(self: object, data: bytes, path: str, *, _optimize: int = -1) -> object:
        _compiled.append(str(path))
        return original(self, data, path, _optimize=_optimize)

    external.SourceLoader.source_to_code = source_to_code


def _peak_rss_mb() -> float:
    """This process's peak resident set. VmHWM belongs to the address space exec created; ru_maxrss is not used
    on Linux because it carries over the parent's peak across fork and exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def main() -> None:
    spec_path = sys.argv[1]
    # the spec is tiny and fixed-format: key=value lines, parsed without importing json before the measurement
    with open(spec_path, encoding="utf-8") as f:
        spec = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    sys.path[:0] = [p for p in spec["path"].split("\x1f") if p]
    _count_source_compiles()

    started, started_cpu = _clock(), _cpu()
    if spec["mode"] == "baseline":
        import boto3

        boto3.client("dynamodb")
        handler = None
    elif spec["mode"] == "baseline-tuned":
        import gc

        gc.disable()
        import boto3

        session = boto3.Session()
        session._session.get_component("data_loader").search_paths.insert(0, spec["slim"])
        session.client("dynamodb")
        handler = None
    elif spec["mode"] == "code":
        code = spec["code"].replace("\x1e", "\n")
        exec(compile(code, "<bench-code>", "exec"), {"__name__": "bench_code"})  # noqa: S102 - the bench's own
        handler = None
    else:
        import app  # type: ignore[import-not-found,unused-ignore]

        handler = app.lambda_handler
    imported, imported_cpu = _clock(), _cpu()

    import json

    result: dict[str, object] = {
        "import_ms": (imported - started) * 1000,
        "import_cpu_ms": (imported_cpu - started_cpu) * 1000,
        "compiled_from_source": len(_compiled),
        "compiled_examples": _compiled[:5],
        "dont_write_bytecode": bool(sys.flags.dont_write_bytecode),
        "isolated": bool(sys.flags.isolated),
        "no_site": bool(sys.flags.no_site),
    }
    roots = [p for p in spec["path"].split("\x1f") if p]
    stdlib = [p for p in sys.path if p.startswith(sys.base_prefix)]  # python313.zip, lib/python3.13, lib-dynload
    outside = sorted(
        name
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and name not in ("__main__", "__mp_main__")  # this script
        and not any(str(module.__file__).startswith(r) for r in roots + stdlib)
    )
    result["modules_loaded"] = len(sys.modules)
    result["modules_outside_build"] = outside[:10]

    if handler is not None:
        with open(spec["events"], encoding="utf-8") as f:
            events = json.load(f)
        aws = {"seconds": 0.0, "cpu": 0.0, "calls": 0}

        import boto3
        import botocore.handlers

        def before_call(context: dict[str, float], **_: object) -> None:
            context["bench_t0"], context["bench_c0"] = _clock(), _cpu()

        def after_call(context: dict[str, float], **_: object) -> None:
            t0, c0 = context.pop("bench_t0", None), context.pop("bench_c0", None)
            if t0 is not None and c0 is not None:
                aws["seconds"] += _clock() - t0
                aws["cpu"] += _cpu() - c0
                aws["calls"] += 1

        # every client created from now on (the handler creates its clients lazily, on first use) reports here
        botocore.handlers.BUILTIN_HANDLERS.extend([("before-call", before_call), ("after-call", after_call)])
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.register("before-call", before_call)
            boto3.DEFAULT_SESSION.events.register("after-call", after_call)

        class Context:
            function_name = spec["function"]
            memory_limit_in_mb = int(spec["memory_mb"])
            invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{spec['function']}"
            aws_request_id = "00000000-0000-0000-0000-000000000001"
            function_version = "$LATEST"
            log_group_name = f"/aws/lambda/{spec['function']}"
            log_stream_name = "bench"

            @staticmethod
            def get_remaining_time_in_millis() -> int:
                return 300_000

        outcomes = []
        first_ms = first_aws_ms = first_cpu_ms = first_aws_cpu_ms = 0.0
        warm_ms: list[float] = []
        for i, event in enumerate(events):
            aws["seconds"], aws["cpu"], aws["calls"] = 0.0, 0.0, 0
            t0, c0 = _clock(), _cpu()
            response = handler(event, Context())
            elapsed, elapsed_cpu = (_clock() - t0) * 1000, (_cpu() - c0) * 1000
            if i == 0:
                first_ms, first_aws_ms = elapsed, aws["seconds"] * 1000
                first_cpu_ms, first_aws_cpu_ms = elapsed_cpu, aws["cpu"] * 1000
                result["first_invoke_calls"] = aws["calls"]
            else:
                warm_ms.append(elapsed - aws["seconds"] * 1000)
            if isinstance(response, dict):
                failures = response.get("batchItemFailures")
                outcomes.append(response.get("statusCode", "ok" if not failures else f"failed:{len(failures)}"))
        result["first_invoke_ms"] = first_ms
        result["first_invoke_aws_ms"] = first_aws_ms
        result["first_invoke_cpu_ms"] = first_cpu_ms
        result["first_invoke_aws_cpu_ms"] = first_aws_cpu_ms
        result["warm_invocations"] = len(warm_ms)
        result["outcomes"] = sorted({str(o) for o in outcomes})
    result["max_rss_mb"] = _peak_rss_mb()
    with open(spec["out"], "w", encoding="utf-8") as f:
        json.dump(result, f)


main()
