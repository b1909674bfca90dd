"""Cold start and memory per function, from the built artifact, in fresh processes.

Each round starts one fresh interpreter per function (and one for the baseline) with bench/coldstart_child.py,
laid out like Lambda: sys.path = [.aws-sam/build/<Function>, .aws-sam/build/PolicyLayer/python, stdlib], no
site-packages, no bytecode writes. The children talk to a moto server in this process (AWS_ENDPOINT_URL), so a
report really flows: the intake child's report is the evaluation child's message, whose notifications are the
notification child's.

The measure is CPU time of the child (user + system, `time.process_time`), with wall time beside it: on a shared
2-core machine a child's wall time carries every other process's load, its CPU time much less. Each function is
paired with its own baseline child (`import boto3; boto3.client("dynamodb")`) in every round, the order of the two
alternating round by round, and the goal is judged on the median of the per-round ratios, with their interquartile
range. When the IQR is too wide a share of the median (SPREAD_LIMIT), the bench says the run cannot judge the goal.

The build targets arm64 (Lambda's Graviton). On another architecture the layer's compiled extensions
(pydantic-core, markupsafe) cannot load, so the bench runs from an overlay of the layer: everything is the built
artifact (symlinked, bytecode included) except those extension modules, which come from this venv's wheels of
the same versions. The substitutions are listed in the results.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from bench.driver import (
    REGION,
    ROOT,
    clear_product_caches,
    fake_credentials,
    http_event,
    load_event,
    post_context_body,
    report_body,
    sqs_event,
    sqs_template,
)

BUILD = ROOT / ".aws-sam" / "build"
LAYER = "PolicyLayer"
CHILD = Path(__file__).with_name("coldstart_child.py")
# the functions issue 18 holds to the goal; every other function of the template is measured and reported beside
JUDGED = (
    "ReportIntakeFunction",
    "PolicyEvaluationFunction",
    "NotificationFunction",
    "CaseApiFunction",
    "ScheduledReviewFunction",
)
SPREAD_LIMIT = 0.25  # IQR of the paired ratios / their median: wider than this, the run cannot judge the goal


@dataclass
class Sample:
    import_ms: float
    cold_ms: float  # wall: import + first invocation, minus the time inside AWS calls
    cpu_ms: float  # the same in CPU time of the child process
    import_cpu_ms: float
    max_rss_mb: float
    compiled_from_source: int
    outside_build: list[str]
    outcomes: list[str]


@dataclass(frozen=True)
class Paired:
    """The per-round ratios of one function to its own baseline child."""

    ratios: list[float]
    function_cpu_ms: list[float]
    baseline_cpu_ms: list[float]
    wall_ratios: list[float]

    @property
    def median(self) -> float:
        return float(statistics.median(self.ratios))

    @property
    def iqr(self) -> tuple[float, float]:
        return quartiles(self.ratios)

    @property
    def spread(self) -> float:
        """IQR width as a share of the median."""
        low, high = self.iqr
        return (high - low) / self.median

    @property
    def judgeable(self) -> bool:
        return len(self.ratios) >= 5 and self.spread <= SPREAD_LIMIT


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return float(q1), float(q3)


@dataclass
class ColdStartResult:
    rounds: int
    memory_mb: dict[str, int]
    functions: dict[str, str] = field(default_factory=dict)  # logical id -> short name, every function measured
    samples: dict[str, list[Sample]] = field(default_factory=dict)  # "baseline" and each function
    baselines: dict[str, list[Sample]] = field(default_factory=dict)  # each function's paired baseline children
    # one per round: the baseline given the product's Init treatment (coldstart_child.py, mode baseline-tuned)
    tuned_baseline: list[Sample] = field(default_factory=list)
    memory_run: dict[str, Sample] = field(default_factory=dict)
    no_bytecode_ms: dict[str, float] = field(default_factory=dict)
    substitutions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def median(self, name: str, attribute: str = "cold_ms") -> float:
        return float(statistics.median(getattr(s, attribute) for s in self.samples[name]))

    def tuned_ratios(self, function: str) -> list[float]:
        """Per round: the function's CPU time over the round's tuned baseline (reported, not judged)."""
        product = self.samples[function][: self.rounds]
        return [f.cpu_ms / b.cpu_ms for f, b in zip(product, self.tuned_baseline[: self.rounds], strict=False)]

    def paired(self, function: str) -> Paired:
        product, base = self.samples[function][: self.rounds], self.baselines[function][: self.rounds]
        return Paired(
            ratios=[f.cpu_ms / b.cpu_ms for f, b in zip(product, base, strict=True)],
            function_cpu_ms=[f.cpu_ms for f in product],
            baseline_cpu_ms=[b.cpu_ms for b in base],
            wall_ratios=[f.cold_ms / b.cold_ms for f, b in zip(product, base, strict=True)],
        )


def template_functions() -> dict[str, str]:
    """Every function of template.yaml: logical id -> its folder under functions/ (the metrics' short name)."""
    from local.template import load_template

    found = {}
    for logical_id, resource in load_template()["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            found[logical_id] = str(resource["Properties"]["CodeUri"]).rstrip("/").split("/")[-1]
    return found


def memory_sizes() -> dict[str, int]:
    from local.template import load_template

    template = load_template()
    default = int(template["Globals"]["Function"].get("MemorySize", 128))
    return {fn: int(template["Resources"][fn]["Properties"].get("MemorySize", default)) for fn in template_functions()}


# ---------------------------------------------------------------- the artifact


def check_build() -> None:
    missing = [p for p in [*(BUILD / fn for fn in template_functions()), BUILD / LAYER / "python"] if not p.is_dir()]
    if missing:
        raise SystemExit(f"no build output at {missing[0]}: run `make build` first (`make bench` does)")


@contextmanager
def host_layer(result: ColdStartResult) -> Iterator[Path]:
    """The layer's python/ directory as this machine can load it (see the module docstring)."""
    layer = BUILD / LAYER / "python"
    if platform.machine() in ("aarch64", "arm64"):
        yield layer
        return
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    host_suffix = EXTENSION_SUFFIXES[0]
    foreign = sorted(p for p in layer.rglob("*.so") if not p.name.endswith(host_suffix))
    packages = {p.relative_to(layer).parts[0] for p in foreign}
    with tempfile.TemporaryDirectory(prefix="cg-bench-layer-") as tmp:
        overlay = Path(tmp) / "python"
        overlay.mkdir()
        for entry in layer.iterdir():
            if entry.name in packages:
                shutil.copytree(entry, overlay / entry.name, symlinks=True)
            else:
                (overlay / entry.name).symlink_to(entry)
        for so in foreign:
            relative = so.relative_to(layer)
            stem = so.name.split(".", 1)[0]
            host = site / relative.parent / f"{stem}{host_suffix}"
            if not host.exists():
                raise SystemExit(f"no {host_suffix} build of {relative} in {site}: cannot emulate the layer here")
            (overlay / relative).unlink()
            shutil.copy2(host, overlay / relative.parent / host.name)
            result.substitutions.append(f"{relative} -> this venv's {host.name}")
        for package in packages:
            layer_dists = {d.name for d in layer.glob("*.dist-info")}
            site_dists = {d.name for d in site.glob("*.dist-info")}
            for dist in (d for d in layer_dists if d.split("-")[0].lower() == package.lower().replace("-", "_")):
                if dist not in site_dists:
                    result.warnings.append(f"{dist} of the layer is not the venv's version")
        yield overlay


@contextmanager
def host_function(function_dir: Path, result: ColdStartResult) -> Iterator[Path]:
    """A function directory as this machine can load it: a package of the function's own requirements with
    compiled extensions for another architecture (numpy in the media matcher) is replaced, whole, by this venv's
    copy of the same version (its .libs directory too); the function's own code stays the built artifact."""
    if platform.machine() in ("aarch64", "arm64"):
        yield function_dir
        return
    host_suffix = EXTENSION_SUFFIXES[0]
    foreign = [p for p in function_dir.rglob("*.so") if not p.name.endswith(host_suffix)]
    packages = {p.relative_to(function_dir).parts[0] for p in foreign}
    if not packages:
        yield function_dir
        return
    site = site_packages()
    with tempfile.TemporaryDirectory(prefix="cg-bench-fn-") as tmp:
        overlay = Path(tmp) / function_dir.name
        overlay.mkdir()
        replaced = {*packages, *(f"{p}.libs" for p in packages)}
        for entry in function_dir.iterdir():
            if entry.name not in replaced:
                (overlay / entry.name).symlink_to(entry)
        for name in sorted(replaced):
            if (site / name).is_dir():
                shutil.copytree(site / name, overlay / name, symlinks=True)
        site_dists = {d.name for d in site.glob("*.dist-info")}
        for package in sorted(packages):
            dists = [d.name for d in function_dir.glob("*.dist-info") if d.name.split("-")[0].lower() == package]
            if any(d not in site_dists for d in dists):
                result.warnings.append(f"{function_dir.name}: {dists} is not the venv's version")
            result.substitutions.append(f"{function_dir.name}/{package} (whole package) -> this venv's copy")
        yield overlay


@contextmanager
def without_bytecode(function_dir: Path, layer_dir: Path) -> Iterator[tuple[Path, Path]]:
    """Copies of the artifact without __pycache__: what Lambda would run from a plain `sam build`."""
    with tempfile.TemporaryDirectory(prefix="cg-bench-nopyc-") as tmp:
        ignore = shutil.ignore_patterns("__pycache__")
        fn = Path(tmp) / "function"
        layer = Path(tmp) / "layer"
        shutil.copytree(function_dir, fn, ignore=ignore)
        shutil.copytree(layer_dir, layer, ignore=ignore, symlinks=False)
        yield fn, layer


# ---------------------------------------------------------------- the moto server and the flowing report


class Pipeline:
    """A moto server with the template's resources, and the report flow between the children."""

    def __init__(self) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        from local import moto_adapt
        from local.template import create_resources

        moto_adapt.apply()
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        fake_credentials()
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        self.session = boto3.Session(region_name=REGION)
        self.resources = create_resources(self.session)
        self.sqs = self.session.client("sqs")
        self.templates = {q: sqs_template(q) for q in ("EvaluationQueue", "EffectsQueue", "NotificationQueue")}

    def stop(self) -> None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        self.server.stop()

    def seed(self, post_ids: list[str], accounts: dict[str, dict[str, Any]]) -> None:
        """Platform context through the intake handler (in this process, against the server)."""
        import importlib

        saved = dict(os.environ)
        os.environ.update(self.resources.environment())
        clear_product_caches()
        try:
            intake = importlib.import_module("functions.report_intake.app")
            context = _Context("ReportIntakeFunction")
            for post_id in post_ids:
                event = http_event(
                    "report_intake/put_post_context.json",
                    path_params={"post_id": post_id},
                    body=post_context_body("user-bob", post_id),
                    platform=True,
                )
                _expect(intake.lambda_handler(event, context), 200)
            for account_id, fields in accounts.items():
                event = http_event(
                    "report_intake/put_account_context.json",
                    path_params={"account_id": account_id},
                    body=fields,
                    platform=True,
                )
                _expect(intake.lambda_handler(event, context), 200)
        finally:
            clear_product_caches()
            os.environ.clear()
            os.environ.update(saved)

    def take(self, queue: str) -> list[dict[str, Any]]:
        """Every message waiting in a queue (received and deleted: the child that gets them acts as the consumer)."""
        url = self.resources.queues[queue]
        taken: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
                "Messages", []
            )
            if not messages:
                return taken
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            taken.extend(dict(m) for m in messages)

    def batches(self, queue: str, messages: list[dict[str, Any]], first: int = 1) -> list[dict[str, Any]]:
        """SQS events: the first with `first` messages (the cold invocation), then batches of 10."""
        arn = self.resources.queue_arns[queue]
        events = [sqs_event(self.templates[queue], arn, messages[:first])] if messages else []
        rest = messages[first:]
        events += [sqs_event(self.templates[queue], arn, rest[i : i + 10]) for i in range(0, len(rest), 10)]
        return events

    def child_environment(self, function: str, memory_mb: int, task_root: Path) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": tempfile.gettempdir(),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": str(task_root),
        }
        env.update(self.resources.environment())
        return env


class _Context:
    memory_limit_in_mb = 256
    aws_request_id = "seed"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:seed"
    function_version = "$LATEST"

    def __init__(self, name: str) -> None:
        self.function_name = name

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def _expect(response: dict[str, Any], status: int) -> None:
    if response.get("statusCode") != status:
        raise RuntimeError(f"seeding answered {response.get('statusCode')}: {response.get('body')}")


# ---------------------------------------------------------------- one child


def run_child(
    mode: str,
    path: list[Path],
    env: dict[str, str],
    events: list[dict[str, Any]] | None = None,
    function: str = "baseline",
    memory_mb: int = 256,
    code: str = "",
    slim: str = "",
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cg-bench-child-") as tmp:
        spec = Path(tmp) / "spec"
        out = Path(tmp) / "out.json"
        event_file = Path(tmp) / "events.json"
        event_file.write_text(json.dumps(events or []))
        spec.write_text(
            "\n".join(
                [
                    f"mode={mode}",
                    "path=" + "\x1f".join(str(p) for p in path),
                    f"events={event_file}",
                    f"out={out}",
                    f"function={function}",
                    f"memory_mb={memory_mb}",
                    "code=" + code.replace("\n", "\x1e"),
                    f"slim={slim}",
                ]
            )
            + "\n"
        )
        proc = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-I", "-S", "-B", str(CHILD), str(spec)],
            env=env,
            stdout=subprocess.DEVNULL,  # the functions' JSON logs
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"cold start of {function} failed:\n{proc.stderr[-3000:]}")
        data: dict[str, Any] = json.loads(out.read_text())
        return data


def _sample(data: dict[str, Any]) -> Sample:
    first = data.get("first_invoke_ms", 0.0) - data.get("first_invoke_aws_ms", 0.0)
    first_cpu = data.get("first_invoke_cpu_ms", 0.0) - data.get("first_invoke_aws_cpu_ms", 0.0)
    return Sample(
        import_ms=data["import_ms"],
        cold_ms=data["import_ms"] + first,
        cpu_ms=data["import_cpu_ms"] + first_cpu,
        import_cpu_ms=data["import_cpu_ms"],
        max_rss_mb=data["max_rss_mb"],
        compiled_from_source=data["compiled_from_source"],
        outside_build=data["modules_outside_build"],
        outcomes=data.get("outcomes", []),
    )


# ---------------------------------------------------------------- the rounds


def _own_events(function: str, folder: str) -> list[dict[str, Any]]:
    """A function outside the report's flow gets the first of its events/<folder>/*.json."""
    found = sorted((ROOT / "events" / folder).glob("*.json"))
    if not found:
        raise RuntimeError(f"no events/{folder}/*.json for {function}'s cold start")
    return [load_event(f"{folder}/{found[0].name}")]


def site_packages() -> Path:
    return Path(next(p for p in sys.path if p.endswith("site-packages")))


def measure(
    rounds: int = 10, memory_requests: int = 100, no_bytecode_runs: int = 2, log: Any = print
) -> ColdStartResult:
    check_build()
    result = ColdStartResult(rounds=rounds, memory_mb=memory_sizes(), functions=template_functions())
    if not (BUILD / LAYER / "python" / "consent_guard" / "botocore_data").is_dir():
        result.warnings.append("the layer has no slim botocore data (a plain `sam build`?): run `make build`")
    pipeline = Pipeline()
    try:
        with host_layer(result) as layer, ExitStack() as stack:
            function_dirs = {fn: stack.enter_context(host_function(BUILD / fn, result)) for fn in result.functions}
            slim = stack.enter_context(venv_slim_data())
            _rounds(pipeline, layer, function_dirs, result, rounds, memory_requests, no_bytecode_runs, log, slim)
    finally:
        pipeline.stop()
    for name, samples in result.samples.items():
        for s in samples:
            if s.compiled_from_source:
                result.warnings.append(f"{name}: {s.compiled_from_source} modules compiled from source")
                break
        if any(s.outside_build for s in samples) and name != "baseline":
            result.warnings.append(f"{name}: modules loaded from outside the build: {samples[0].outside_build}")
    return result


@contextmanager
def venv_slim_data() -> Iterator[Path]:
    """The slim botocore data of this venv's botocore (the baseline children's), as `make build` makes the layer's."""
    import botocore

    from consent_guard import aws
    from local import botocore_data

    with tempfile.TemporaryDirectory(prefix="cg-bench-slim-") as tmp:
        out = Path(tmp) / "botocore_data"
        botocore_data.slim(Path(botocore.__file__).with_name("data"), out, aws.SERVICES)
        yield out


def _rounds(
    pipeline: Pipeline,
    layer: Path,
    function_dirs: dict[str, Path],
    result: ColdStartResult,
    rounds: int,
    memory_requests: int,
    no_bytecode_runs: int,
    log: Any,
    slim: Path,
) -> None:
    cold_posts = [f"cold-post-{i}" for i in range(rounds + 1)]
    memory_posts = [f"mem-post-{i}" for i in range(memory_requests)]
    pipeline.seed(cold_posts + memory_posts, {"user-bob": {"contact_email": "bob@example.com"}})
    baseline_env = pipeline.child_environment("baseline", 256, site_packages())
    result.samples["baseline"] = []
    for name in result.functions:
        result.samples[name], result.baselines[name] = [], []
    order = 0

    def child(function: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """The function's cold start and its own baseline, next to each other, in alternating order."""
        nonlocal order
        fn_dir = function_dirs[function]
        env = pipeline.child_environment(function, result.memory_mb[function], fn_dir)
        order += 1
        if order % 2:
            base = run_child("baseline", [site_packages()], baseline_env)
        data = run_child("handler", [fn_dir, layer], env, events, function, result.memory_mb[function])
        if not order % 2:
            base = run_child("baseline", [site_packages()], baseline_env)
        baselines[function] = base
        return data

    for i in range(rounds + 1):
        memory_round = i == rounds
        if not memory_round:
            tuned = run_child("baseline-tuned", [site_packages()], baseline_env, slim=str(slim))
            result.tuned_baseline.append(_sample(tuned))
        extra = memory_requests if memory_round else 0
        samples: dict[str, dict[str, Any]] = {}
        baselines: dict[str, dict[str, Any]] = {}
        reporter = f"cold-reporter-{i}"
        reports = [http_event("report_intake/submit_report.json", body=report_body(cold_posts[i]), sub=reporter)]
        reports += [
            http_event("report_intake/submit_report.json", body=report_body(memory_posts[k]), sub=f"mem-reporter-{k}")
            for k in range(extra)
        ]
        samples["ReportIntakeFunction"] = child("ReportIntakeFunction", reports)
        evaluations = pipeline.batches("EvaluationQueue", pipeline.take("EvaluationQueue"))
        samples["PolicyEvaluationFunction"] = child("PolicyEvaluationFunction", evaluations)
        samples["EffectsFunction"] = child(
            "EffectsFunction", pipeline.batches("EffectsQueue", pipeline.take("EffectsQueue"))
        )
        notifications = pipeline.take("NotificationQueue")
        if not memory_round:  # one notification per round; the rest wait for the memory round
            for message in notifications[1:]:
                pipeline.sqs.send_message(
                    QueueUrl=pipeline.resources.queues["NotificationQueue"], MessageBody=message["Body"]
                )
            notifications = notifications[:1]
        samples["NotificationFunction"] = child(
            "NotificationFunction", pipeline.batches("NotificationQueue", notifications)
        )
        inbox = [
            http_event("case_api/my_notifications.json", sub=s)
            for s in [reporter, "user-bob"] + [f"mem-reporter-{k}" for k in range(extra)]
        ]
        samples["CaseApiFunction"] = child("CaseApiFunction", inbox)
        reviews = [load_event("scheduled_review/scheduled.json") for _ in range(1 + extra // 5)]
        samples["ScheduledReviewFunction"] = child("ScheduledReviewFunction", reviews)
        for function in result.functions:
            if function not in samples:  # functions without a flowing event: their own scheduled/sample event
                samples[function] = child(function, _own_events(function, result.functions[function]))
        for name, data in samples.items():
            sample = _sample(data)
            result.samples[name].append(sample)
            result.baselines[name].append(_sample(baselines[name]))
            result.samples["baseline"].append(result.baselines[name][-1])
            if memory_round:
                result.memory_run[name] = sample
        if memory_round:
            result.memory_run["baseline"] = result.samples["baseline"][-1]
        label = "memory run" if memory_round else f"round {i + 1}/{rounds}"
        log(
            f"  cold start {label} (CPU, x its baseline): "
            + ", ".join(
                f"{result.functions[n]} {s[-1].cpu_ms:.0f} ms {s[-1].cpu_ms / result.baselines[n][-1].cpu_ms:.2f}x"
                for n, s in result.samples.items()
                if n != "baseline"
            )
        )
    for function in JUDGED if no_bytecode_runs else ():
        fn_dir = function_dirs[function]
        with without_bytecode(fn_dir, layer) as (plain_fn, plain_layer):
            env = pipeline.child_environment(function, result.memory_mb[function], plain_fn)
            runs = [
                _sample(run_child("handler", [plain_fn, plain_layer], env, [], function)).import_ms
                for _ in range(no_bytecode_runs)
            ]
        result.no_bytecode_ms[function] = statistics.median(runs)
