"""Check 10: template.yaml under checkov (own venv, offline) and cfn-lint with the serverless rules, the security
properties the issue names, and each function's role compared with the AWS calls the function really makes.

The calls come from the pytest session of the scorecard: every test in tests/handlers and tests/scorecard runs with
the recorder of tests/scorecard/plugin.py, which notes each API call made inside a function's handler with the IAM
action and resource it needs (a TransactWriteItems needs PutItem/UpdateItem/DeleteItem/ConditionCheckItem per item).
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

from local.template import ROOT, TEMPLATE, load_template, resources
from tests.scorecard.core import CheckResult

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CFN_LINT = ROOT / ".venv-tools" / "bin" / "cfn-lint"
CHECKOV_CONFIG = ROOT / ".checkov.yaml"
MAX_SKIPS = 5
# what issue 7 names, as checkov checks that must have run and passed
REQUIRED_CHECKOV = {
    "CKV_AWS_28": "DynamoDB point-in-time recovery",
    "CKV_AWS_119": "DynamoDB customer-managed KMS key",
    "CKV_AWS_27": "SQS encryption (KMS)",
    "CKV_AWS_66": "log retention",
    "CKV_AWS_158": "log groups encrypted with KMS",
    "CKV_AWS_95": "HTTP API access logging",
    "CKV_AWS_173": "environment variables encrypted with KMS",
    "CKV_AWS_7": "key rotation",
}


# ---------------------------------------------------------------- checkov and cfn-lint


def _checkov() -> tuple[list[str], str]:
    problems: list[str] = []
    skips = _skips(problems)
    if not CHECKOV.exists():
        return [f"{CHECKOV.relative_to(ROOT)} missing (make scorecard creates it from requirements-checkov.txt)"], ""
    completed = subprocess.run(  # noqa: S603
        [str(CHECKOV), "--config-file", str(CHECKOV_CONFIG), "-f", str(TEMPLATE), "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        return [f"checkov did not run: {completed.stderr[-2000:]}"], ""
    report = report[0] if isinstance(report, list) else report
    results = report["results"]
    for failed in results["failed_checks"]:
        problems.append(f"checkov {failed['check_id']} {failed['check_name']}: {failed['resource']}")
    passed_ids = {c["check_id"] for c in results["passed_checks"]}
    for check_id, what in REQUIRED_CHECKOV.items():
        if check_id not in passed_ids:
            problems.append(f"checkov {check_id} ({what}) did not pass")
    summary = report["summary"]
    figure = f"checkov {summary['failed']} failed/{summary['passed']} passed (skips: {', '.join(skips) or 'none'})"
    return problems, figure


def _skips(problems: list[str]) -> list[str]:
    """The skip list of .checkov.yaml; each entry must carry its reason as a comment."""
    skips = []
    in_list = False
    for line in CHECKOV_CONFIG.read_text().splitlines():
        if line.startswith("skip-check:"):
            in_list = True
            continue
        if in_list and not line.startswith("  "):
            in_list = False
        found = re.match(r"^\s+-\s+(CKV\w+)\s*(#\s*(.*))?$", line) if in_list else None
        if found:
            skips.append(found.group(1))
            if len((found.group(3) or "").strip()) < 20:
                problems.append(f".checkov.yaml skips {found.group(1)} without a reason")
    if len(skips) > MAX_SKIPS:
        problems.append(f".checkov.yaml skips {len(skips)} checks (at most {MAX_SKIPS})")
    return skips


def _cfn_lint() -> tuple[list[str], str]:
    if not CFN_LINT.exists():
        return [f"{CFN_LINT.relative_to(ROOT)} missing (make tools)"], ""
    completed = subprocess.run(  # noqa: S603
        [str(CFN_LINT), str(TEMPLATE), "--append-rules", "cfn_lint_serverless.rules", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"},
    )
    try:
        matches = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        return [f"cfn-lint did not run: {completed.stderr[-2000:]}"], ""
    problems = [f"cfn-lint {m['Rule']['Id']}: {m['Message']} ({m['Location']['Path']})" for m in matches]
    ignored = _template_ignores()
    return problems, f"cfn-lint+serverless rules {len(matches)} findings (template ignores: {', '.join(ignored)})"


def _template_ignores() -> list[str]:
    template = load_template()
    ignored = list(template.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", []))
    for resource in template["Resources"].values():
        ignored += resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
    counts: dict[str, int] = defaultdict(int)
    for rule in ignored:
        counts[rule] += 1
    return [f"{rule}x{n}" if n > 1 else rule for rule, n in sorted(counts.items())]


# ---------------------------------------------------------------- what the issue names, read from the template


def _ref(value: Any) -> str | None:
    """The logical id a Ref / GetAtt / Sub points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Fn::Sub" in value:
            found = re.match(r"\$\{(\w+)", str(value["Fn::Sub"]))
            return found.group(1) if found else None
    return None


def _requirements() -> tuple[list[str], int]:
    template = load_template()
    problems: list[str] = []
    checked = 0

    def require(condition: bool, message: str) -> None:
        nonlocal checked
        checked += 1
        if not condition:
            problems.append(message)

    keys = resources("AWS::KMS::Key")
    for name, table in resources("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        require(pitr is True, f"{name}: point-in-time recovery")
        sse = props.get("SSESpecification", {})
        require(sse.get("SSEType") == "KMS" and _ref(sse.get("KMSMasterKeyId")) in keys, f"{name}: customer key")
    for name, key in keys.items():
        require(key["Properties"].get("EnableKeyRotation") is True, f"{name}: key rotation")
    queues = resources("AWS::SQS::Queue")
    for name, queue in queues.items():
        require(_ref(queue["Properties"].get("KmsMasterKeyId")) in keys, f"{name}: encrypted with the customer key")
    logs = resources("AWS::Logs::LogGroup")
    for name, group in logs.items():
        props = group["Properties"]
        require("RetentionInDays" in props and _ref(props.get("KmsKeyId")) in keys, f"{name}: retention and KMS")
    functions = resources("AWS::Serverless::Function")
    globals_ = template.get("Globals", {}).get("Function", {})
    for name, function in functions.items():
        props = function["Properties"]
        require(_ref(props.get("LoggingConfig", {}).get("LogGroup")) in logs, f"{name}: its own log group")
        require(
            _ref(props.get("KmsKeyArn", globals_.get("KmsKeyArn"))) in keys, f"{name}: env vars with the customer key"
        )
        require("Role" not in props and bool(props.get("Policies")), f"{name}: a role of its own")
    for name, api in resources("AWS::Serverless::HttpApi").items():
        props = api["Properties"]
        access = props.get("AccessLogSettings", {})
        require(_ref(access.get("DestinationArn")) in logs, f"{name}: access logging")
        require("$context.requestBody" not in str(access.get("Format", "")), f"{name}: access log without bodies")
        route = props.get("DefaultRouteSettings", {})
        require(
            int(route.get("ThrottlingBurstLimit", 0)) > 0 and int(route.get("ThrottlingRateLimit", 0)) > 0,
            f"{name}: stage throttling",
        )
    # every queue a function consumes dead-letters after >= 5 receives, and every dead-letter queue is alarmed
    alarms = resources("AWS::CloudWatch::Alarm")
    alarmed = {
        _ref(d.get("Value"))
        for a in alarms.values()
        if a["Properties"].get("AlarmActions")
        for d in a["Properties"].get("Dimensions", [])
    }
    dlqs: set[str] = set()
    for name, function in functions.items():
        for event_name, event in function["Properties"].get("Events", {}).items():
            if event["Type"] == "SQS":
                queue = _ref(event["Properties"]["Queue"]) or "?"
                redrive = queues.get(queue, {}).get("Properties", {}).get("RedrivePolicy", {})
                require(int(redrive.get("maxReceiveCount", 0)) >= 5, f"{queue}: redrive after >= 5 receives")
                require(
                    "ReportBatchItemFailures" in event["Properties"].get("FunctionResponseTypes", []),
                    f"{name}.{event_name}: partial batch responses",
                )
                dlqs.add(_ref(redrive.get("deadLetterTargetArn")) or "?")
            if event["Type"] == "Schedule":  # invoked asynchronously: failures must land somewhere
                config = function["Properties"].get("EventInvokeConfig", {})
                on_failure = _ref(config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
                dlq = on_failure or _ref(function["Properties"].get("DeadLetterQueue", {}).get("TargetArn"))
                require(dlq in queues, f"{name}: async failures go to a queue")
                dlqs.add(dlq or "?")
    for dlq in sorted(dlqs):
        require(dlq in alarmed, f"{dlq}: alarm with an action")
    return problems, checked


# ---------------------------------------------------------------- roles against the calls the functions make


def _grants(function: dict[str, Any]) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """(action, logical resource pattern, has condition) for each statement; problems with wildcards."""
    grants: list[tuple[str, str, bool]] = []
    problems: list[str] = []
    for policy in function["Properties"].get("Policies", []):
        if not isinstance(policy, dict) or "Statement" not in policy:
            problems.append(f"policy that is not an inline statement list: {policy}")
            continue
        for statement in policy["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                if "*" in str(action):
                    problems.append(f"wildcard action {action}")
                for target in targets:
                    if target == "*":
                        pattern = "*"
                        if "Condition" not in statement:
                            problems.append(f"{action} on any resource without a condition")
                    elif isinstance(target, dict) and "Fn::Sub" in target:
                        pattern = re.sub(r"\$\{(\w+)\.Arn\}", r"\1", str(target["Fn::Sub"]))
                        # pseudo parameters match anything; a template parameter is its default
                        pattern = re.sub(r"\$\{AWS::\w+\}", "*", pattern)
                        pattern = re.sub(r"\$\{(\w+)\}", lambda m: _parameter_default(m.group(1)), pattern)
                    else:
                        pattern = _ref(target) or str(target)
                    grants.append((str(action), pattern, "Condition" in statement))
    return grants, problems


def _parameter_default(name: str) -> str:
    return str(load_template().get("Parameters", {}).get(name, {}).get("Default", "${" + name + "}"))


def _iam_actions() -> dict[str, set[str]]:
    """Every IAM action by service prefix (lower case), from cfn-lint's copy of the AWS policy data."""
    found = sorted((ROOT / ".venv-tools").glob("lib/python3*/site-packages/cfnlint/data/AdditionalSpecs/Policies.json"))
    if not found:
        return {}
    data = json.loads(found[0].read_text())
    return {prefix: {a.lower() for a in spec.get("Actions", {})} for prefix, spec in data.items()}


def _roles(calls: set[tuple[str, str, str]]) -> tuple[list[str], list[str], str]:
    problems: list[str] = []
    notes: list[str] = []
    missing_total = unused_total = 0
    known = _iam_actions()
    if not known:
        problems.append("cfn-lint's IAM action data not found in .venv-tools (make tools)")
    functions = resources("AWS::Serverless::Function")
    for name, function in functions.items():
        grants, wildcard_problems = _grants(function)
        problems += [f"{name}: {p}" for p in wildcard_problems]
        for action, _, _ in grants:
            prefix, _, verb = action.partition(":")
            if known and verb.lower() not in known.get(prefix, set()):
                problems.append(f"{name}: {action} is not an IAM action (it grants nothing)")
        used = {(action, resource) for fn, action, resource in calls if fn == name}
        if not used:
            problems.append(f"{name}: no AWS call recorded (the recording did not run?)")
            continue
        notes.append(f"{name} uses: " + ", ".join(f"{a} {r}" for a, r in sorted(used)))
        for action, resource in sorted(used):
            if not any(fnmatch.fnmatchcase(action, a) and fnmatch.fnmatchcase(resource, r) for a, r, _ in grants):
                missing_total += 1
                problems.append(f"{name}: calls {action} on {resource}, not granted (AccessDenied in AWS)")
        for action, pattern, _ in grants:
            if action.startswith("kms:"):
                continue  # used by the services on the function's behalf, never called directly
            if not any(fnmatch.fnmatchcase(a, action) and fnmatch.fnmatchcase(r, pattern) for a, r in used):
                unused_total += 1
                resource_used = any(fnmatch.fnmatchcase(r, pattern) for _, r in used)
                message = f"{name}: grants {action} on {pattern}, never used by any test"
                # a resource the function never touches is a least-privilege failure; an action never exercised
                # on a resource it does use is reported (the tests may not reach every path)
                (notes if resource_used else problems).append(message)
    problems = list(dict.fromkeys(problems))
    figure = (
        f"{len(functions)} roles vs {len(calls)} recorded calls: {missing_total} missing grants, "
        f"{unused_total} unused grants"
    )
    return problems, notes, figure


def load_calls(directory: Path) -> set[tuple[str, str, str]]:
    calls: set[tuple[str, str, str]] = set()
    for path in directory.glob("calls-*.json"):
        calls |= {tuple(c) for c in json.loads(path.read_text())}  # type: ignore[misc]
    return calls


def run_check(calls_dir: Path) -> CheckResult:
    details: list[str] = []
    checkov_problems, checkov_figure = _checkov()
    lint_problems, lint_figure = _cfn_lint()
    requirement_problems, checked = _requirements()
    role_problems, role_notes, role_figure = _roles(load_calls(calls_dir))
    details = checkov_problems + lint_problems + requirement_problems + role_problems
    figure = (
        f"{checkov_figure}; {lint_figure}; {checked - len(requirement_problems)}/{checked} template requirements; "
        f"{role_figure}"
    )
    return CheckResult(10, "template-security", not details, figure, details + [f"note: {n}" for n in role_notes])
