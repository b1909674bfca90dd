"""Two builds of the HTTP functions against each other: `python -m bench.ab BEFORE_BUILD AFTER_BUILD [--rounds N]`.

What a change to the HTTP layer saves, measured directly rather than as the difference of two bench runs' ratios
(which move by +-0.1x with the machine's load): fresh `python -I -S -B` children (bench/coldstart_child.py, mode
`code`) on each build's `.aws-sam/build/<Function>` and layer, CPU time, the two builds alternating round by round;
the median of the paired differences and of the paired after/before ratios, with their IQRs. Each child imports
`app` (Init) and answers one first request that is refused with a 422 after the whole validation (routing, the
route's validators, the error mapping) and before any AWS call: the AWS clients are the same code in both builds
and are measured by `make bench`. A build is `make build`'s output, e.g. of a `git worktree` at the commit before.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path

import bench.coldstart as cs

EVENTS = Path(__file__).resolve().parents[1] / "events"
FUNCTIONS = ["ReportIntakeFunction", "CaseApiFunction"]


def first_request(function: str) -> str:
    if function == "ReportIntakeFunction":
        event = json.loads((EVENTS / "report_intake/submit_report.json").read_text())
        event["body"] = json.dumps({"post_id": "post-1", "category": "name", "relationship": "other"})
    else:
        event = json.loads((EVENTS / "case_api/list_cases.json").read_text())
        event["queryStringParameters"] = {"queue": "nope", "limit": "1000"}
        event["rawQueryString"] = "queue=nope&limit=1000"
    return (
        "import app, json\n"
        "class Ctx:\n"
        "    function_name = 'f'; function_version = '1'; memory_limit_in_mb = 256\n"
        "    invoked_function_arn = 'arn:aws:lambda:eu-west-1:123456789012:function:f'; aws_request_id = 'r'\n"
        f"event = json.loads({json.dumps(json.dumps(event))})\n"
        "answer = app.lambda_handler(event, Ctx())\n"
        "assert answer['statusCode'] == 422, answer\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("before", type=Path, help="a build directory (.aws-sam/build)")
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    builds = {"before": args.before.resolve(), "after": args.after.resolve()}
    rounds = args.rounds
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "HOME": str(args.after)}
    env |= {"POWERTOOLS_SERVICE_NAME": "consent-guard", "POWERTOOLS_METRICS_NAMESPACE": "ConsentGuard"}
    functions = FUNCTIONS
    with contextlib.ExitStack() as stack:
        layers = {}
        for label, build in builds.items():
            cs.BUILD = build
            layers[label] = stack.enter_context(cs.host_layer(cs.ColdStartResult(rounds=1, memory_mb={})))
        cpu: dict[tuple[str, str], list[float]] = {(f, b): [] for f in functions for b in builds}
        n = 0
        for i in range(rounds):
            for function in functions:
                order = list(builds)
                n += 1
                if n % 2:
                    order.reverse()
                for label in order:
                    path = [builds[label] / function, layers[label]]
                    out = cs.run_child("code", path, env, code=first_request(function))
                    cpu[(function, label)].append(out["import_cpu_ms"])
            sys.stdout.write(
                f"round {i + 1}: "
                + ", ".join(f"{f} {cpu[(f, 'before')][-1]:.0f} -> {cpu[(f, 'after')][-1]:.0f}" for f in functions)
                + "\n"
            )
            sys.stdout.flush()
        for function in functions:
            before, after = cpu[(function, "before")], cpu[(function, "after")]
            deltas = [b - a for b, a in zip(before, after, strict=True)]
            ratios = [a / b for b, a in zip(before, after, strict=True)]
            q = cs.quartiles(deltas)
            r = cs.quartiles(ratios)
            sys.stdout.write(
                f"{function}: before {statistics.median(before):.0f} ms, after {statistics.median(after):.0f} ms; "
                f"saved {statistics.median(deltas):.0f} ms (IQR {q[0]:.0f}..{q[1]:.0f}); "
                f"after/before {statistics.median(ratios):.3f} (IQR {r[0]:.3f}..{r[1]:.3f})\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
