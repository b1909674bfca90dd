"""Marginal cold-start cost of one piece, by difference: `python -m bench.marginal [--function F] [PIECE ...]`.

`-X importtime` charges a shared dependency to whichever module imports it first, so it cannot say what one piece
costs. This tool measures it the way the goal is judged: fresh `python -I -S -B` children on the built artifact
(bench/coldstart_child.py, mode `code`), CPU time, paired round by round. Each round runs, in alternating order,
a child that executes every piece of the set ("with") and one that executes every piece but the one measured
("without"); the marginal cost is the median of the per-round differences, with its interquartile range. So each
figure is what that piece adds on top of all the others - what removing it from a function would save.

Run `make build` first. Pieces are named snippets (PIECES); `--list` shows them, `--set` chooses a set.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass

from bench.coldstart import BUILD, ColdStartResult, check_build, host_layer, quartiles, run_child, site_packages

# name -> code executed in the child (after the set's earlier pieces)
PIECES: dict[str, str] = {
    "boto3": 'import boto3\nboto3.client("dynamodb")',
    "botocore": 'import botocore.session\nbotocore.session.get_session().create_client("dynamodb")',
    "botocore-sqs": 'import botocore.session\nbotocore.session.get_session().create_client("sqs")',
    "pydantic": "import pydantic\nclass _M(pydantic.BaseModel):\n    x: int\n_M(x=1)",
    "stdlib-logging": "import logging, json\nlogging.getLogger('x').addHandler(logging.StreamHandler())",
    "powertools-logger-metrics": (
        "from aws_lambda_powertools import Logger, Metrics\nLogger(service='s')\nMetrics(namespace='n', service='s')"
    ),
    "powertools-resolver": (
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\nAPIGatewayHttpResolver()"
    ),
    "openapi-validation": (
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "APIGatewayHttpResolver(enable_validation=True)"
    ),
    # consent_guard.observability: JSON logs and EMF metrics on the standard library (what replaced the above)
    "observability": (
        "from consent_guard.observability import logger, metrics\n"
        "logger.info('x', k=1)\nmetrics.add_metric(name='n', unit='Count', value=1)\nmetrics.clear_metrics()"
    ),
    "jinja2": "import jinja2",
    # boto3's own import (with s3transfer) on top of botocore: what the product paid before it used botocore
    "boto3-import": "import boto3\nimport boto3.dynamodb.types",
    # what eager model construction cost before defer_build: every model schema of the shared modules built
    "eager-schemas": (
        "import pydantic\n"
        "from consent_guard.models import domain, effects, messages, tdb\n"
        "from consent_guard.policy import document\n"
        "for module in (domain, effects, messages, tdb, document):\n"
        "    for value in list(vars(module).values()):\n"
        "        own = getattr(value, '__module__', '') == module.__name__\n"
        "        if own and isinstance(value, type) and issubclass(value, pydantic.BaseModel):\n"
        "            value.model_rebuild(force=True)"
    ),
    # every request/response body of the HTTP API (the package loads its modules on first use of a name)
    "models.api": "from consent_guard.models import api\nfor name in api.__all__:\n    getattr(api, name)",
    "models.api.reports": "import consent_guard.models.api.reports",
    # consent_guard's own router (what replaced powertools' resolver with enable_validation=True)
    "router": "from consent_guard.http.router import Router\nRouter()",
    "services.intake": "import consent_guard.services.intake",
    "models.domain": "import consent_guard.models.domain",
    "models.items": "import consent_guard.models.items",
    "models.tdb": "import consent_guard.models.tdb",
    "policy.engine": "import consent_guard.policy.engine",
    "repository": "import consent_guard.repository",
    # issue 18, third round (what each cut of the shared modules bought, on the graph of the function it left):
    # the statistics report's 13 models (services.stats before its split)
    "models.stats": "import consent_guard.models.stats",
    # the eight settings models a function does not use (config.py created all nine before it became a package)
    "config-others": "import importlib\nfor m in ('intake', 'matching', 'indexer', 'effects', 'notification', "
    "'case_api', 'review', 'submitter'):\n    importlib.import_module('consent_guard.config.' + m)",
    "config-own": "from consent_guard.config import evaluation_settings",
    # the whole policy document, imported and validated (the notification's retention before policy/retention.py)
    "policy-load": "from consent_guard.policy.document import load_policy\nload_policy()",
    "retention-load": "from consent_guard.policy.retention import load_retention\nload_retention()",
    # deciding (statements, the bank's changes, the evaluation service) on top of the re-review's own graph
    "services.review": "import consent_guard.services.review",
    "services.evaluation": "import consent_guard.services.evaluation",
    # issue 18, fourth round. First in a set: the collector paused for the rest, as consent_guard.startup does in
    # a Lambda Init (negative: what the pause saves)
    "gc-paused": "import gc\ngc.disable()",
    # before the clients: botocore's own data instead of the layer's slim copy (local/botocore_data.py; positive:
    # what the slim data saves)
    "botocore-data-full": "from consent_guard import aws\naws._slim_data = aws._slim_data / 'absent'",
    # intake's two clients, built the way the product builds them (consent_guard.aws)
    "clients-intake": "from consent_guard import aws\naws.client('dynamodb')\naws.client('sqs')",
}
SETS: dict[str, list[str]] = {
    # the list: the pieces an HTTP function is made of
    "http": [
        "pydantic",
        "boto3",
        "stdlib-logging",
        "powertools-logger-metrics",
        "powertools-resolver",
        "openapi-validation",
        "models.domain",
        "jinja2",
    ],
    # what a consumer (evaluation) is made of, on botocore as the product now is
    "consumer": [
        "botocore",
        "pydantic",
        "powertools-logger-metrics",
        "models.tdb",
        "models.domain",
        "models.items",
        "policy.engine",
        "repository",
    ],
    # what issue 18's two product changes saved, on top of an evaluation's graph
    "changes": [
        "botocore",
        "pydantic",
        "powertools-logger-metrics",
        "repository",
        "policy.engine",
        "boto3-import",
        "eager-schemas",
    ],
    # powertools' Logger + Metrics against consent_guard.observability, each on top of a consumer's other pieces
    "observability": ["botocore", "pydantic", "models.domain", "policy.engine", "powertools-logger-metrics"],
    "observability-ours": ["botocore", "pydantic", "models.domain", "policy.engine", "observability"],
    # the report intake function's pieces, with powertools' resolver and every API body (before issue 18's HTTP
    # round) and with consent_guard.http.router and the intake's own bodies (after)
    "intake-before": [
        "botocore",
        "botocore-sqs",
        "pydantic",
        "observability",
        "services.intake",
        "openapi-validation",
        "models.api",
    ],
    "intake-after": [
        "botocore",
        "botocore-sqs",
        "pydantic",
        "observability",
        "services.intake",
        "router",
        "models.api.reports",
    ],
    "models": ["pydantic", "boto3", "models.tdb", "models.domain", "models.items", "models.api", "policy.engine"],
    # issue 18, third round: on a notification's graph (models.stats and config on any function's)
    "cuts": [
        "botocore",
        "pydantic",
        "observability",
        "models.domain",
        "config-own",
        "config-others",
        "models.stats",
        "policy-load",
        "retention-load",
    ],
    # issue 18, fourth round: the collector paused in the Init and the slim botocore data, on intake's pieces
    "init": [
        "gc-paused",
        "botocore-data-full",
        "clients-intake",
        "pydantic",
        "observability",
        "services.intake",
        "router",
        "models.api.reports",
    ],
    # ... and what the re-review no longer imports
    "review": ["botocore", "pydantic", "observability", "services.review", "services.evaluation"],
}


@dataclass(frozen=True)
class Marginal:
    piece: str
    deltas_ms: list[float]  # per round: with - without, CPU ms
    with_ms: list[float]

    @property
    def median(self) -> float:
        return float(statistics.median(self.deltas_ms))

    @property
    def iqr(self) -> tuple[float, float]:
        return quartiles(self.deltas_ms)


def _code(pieces: list[str]) -> str:
    return "\n".join(PIECES[p] for p in pieces) or "pass"


def measure(pieces: list[str], rounds: int, function: str, log: object = print) -> list[Marginal]:
    check_build()
    result = ColdStartResult(rounds=rounds, memory_mb={})
    fn_dir = BUILD / function
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "HOME": str(BUILD)}
    deltas: dict[str, list[float]] = {p: [] for p in pieces}
    withs: dict[str, list[float]] = {p: [] for p in pieces}
    with host_layer(result) as layer:
        path = [fn_dir, layer] if function != "venv" else [site_packages()]
        n = 0
        for i in range(rounds):
            for piece in pieces:
                rest = [p for p in pieces if p != piece]
                n += 1
                runs = [("with", pieces), ("without", rest)]
                if n % 2:
                    runs.reverse()
                cpu = {
                    label: run_child("code", path, env, code=_code(chosen))["import_cpu_ms"] for label, chosen in runs
                }
                deltas[piece].append(cpu["with"] - cpu["without"])
                withs[piece].append(cpu["with"])
            if callable(log):
                log(f"  round {i + 1}/{rounds}: " + ", ".join(f"{p} {deltas[p][-1]:+.0f}" for p in pieces))
    return [Marginal(p, deltas[p], withs[p]) for p in pieces]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.marginal", description=__doc__)
    parser.add_argument("pieces", nargs="*", help="pieces of the set (default: --set)")
    parser.add_argument("--set", default="http", choices=sorted(SETS))
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--function", default="ReportIntakeFunction", help="whose build directory is on sys.path")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, code in PIECES.items():
            sys.stdout.write(f"{name}: {code!r}\n")
        return 0
    pieces = args.pieces or SETS[args.set]
    unknown = [p for p in pieces if p not in PIECES]
    if unknown:
        parser.error(f"unknown pieces {unknown}; --list shows them")
    results = measure(pieces, args.rounds, args.function, log=lambda m: sys.stdout.write(m + "\n"))
    total = statistics.median(results[0].with_ms)
    sys.stdout.write(f"\nmarginal CPU cost on top of the rest of the set ({args.rounds} paired rounds; ")
    sys.stdout.write(f"whole set {total:.0f} ms):\n")
    for m in results:
        low, high = m.iqr
        sys.stdout.write(f"  {m.piece:<28} {m.median:+7.1f} ms   IQR {low:+.1f} .. {high:+.1f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
