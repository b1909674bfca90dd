"""Read template.yaml (CloudFormation tags included) and create its tables and queues on moto.

Tests and the local stack both build their AWS resources from here, so they cannot drift from the deployment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from local.devsecret import dev_secret

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags as {"Fn::X": value} / {"Ref": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load_template() -> dict[str, Any]:
    with TEMPLATE.open() as f:
        return yaml.load(f, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in load_template()["Resources"].items() if r["Type"] == kind}


@dataclass
class LocalResources:
    """Physical names of what was created, by logical id."""

    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue URL
    queue_arns: dict[str, str] = field(default_factory=dict)
    buses: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    sender_email: str = "notifications@example.com"

    def ref(self, logical_id: str) -> str:
        for mapping in (self.tables, self.queues, self.buses, self.buckets):
            if logical_id in mapping:
                return mapping[logical_id]
        raise KeyError(logical_id)

    def environment(self) -> dict[str, str]:
        """Globals environment of the template, and every function's own, with Refs resolved to the local
        resources; a Secrets Manager dynamic reference becomes a random development key kept in .local/."""
        variables = dict(load_template()["Globals"]["Function"]["Environment"]["Variables"])
        for function in resources("AWS::Serverless::Function").values():
            variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
        parameters = load_template().get("Parameters", {})
        env: dict[str, str] = {}
        for key, value in variables.items():
            if isinstance(value, dict) and "Ref" in value:
                target = value["Ref"]
                if target == "SenderEmail":
                    env[key] = self.sender_email
                elif target in parameters:
                    env[key] = str(parameters[target].get("Default", ""))
                else:
                    env[key] = self.ref(target)
            elif isinstance(value, dict) and "{{resolve:secretsmanager:" in str(value.get("Fn::Sub", "")):
                env[key] = dev_secret(DEV_SECRETS / key.lower().replace("_", "-"))
            else:
                env[key] = str(value)
        return env


DEV_SECRETS = ROOT / ".local"


def table_definition(logical_id: str, table_name: str) -> dict[str, Any]:
    """create_table kwargs from the template's AWS::DynamoDB::Table properties."""
    props = resources("AWS::DynamoDB::Table")[logical_id]["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return kwargs


def create_resources(session: Any, prefix: str = "cg") -> LocalResources:
    """Create every table, queue (DLQs first, with their redrive policies), event bus and bucket of the template."""
    created = LocalResources()
    ddb = session.client("dynamodb")
    for logical_id, resource in resources("AWS::DynamoDB::Table").items():
        name = f"{prefix}-{logical_id}"
        ddb.create_table(**table_definition(logical_id, name))
        ttl = resource["Properties"].get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created.tables[logical_id] = name

    sqs = session.client("sqs")
    queues = resources("AWS::SQS::Queue")
    # dead-letter queues have no redrive policy of their own: create them first
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]["Properties"]):
        props = queues[logical_id]["Properties"]
        attributes = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
        if "MessageRetentionPeriod" in props:
            attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": created.queue_arns[target], "maxReceiveCount": str(redrive["maxReceiveCount"])}
            )
        name = f"{prefix}-{logical_id}"
        if props.get("FifoQueue"):
            attributes["FifoQueue"] = "true"
            name += ".fifo"  # SQS's rule for a FIFO queue's name (CloudFormation adds it to the names it makes)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        created.queues[logical_id] = url
        created.queue_arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    events = session.client("events")
    for logical_id in resources("AWS::Events::EventBus"):
        name = f"{prefix}-{logical_id}"
        events.create_event_bus(Name=name)
        created.buses[logical_id] = name

    s3 = session.client("s3")
    for logical_id, resource in resources("AWS::S3::Bucket").items():
        name = f"{prefix}-{logical_id}".lower()  # bucket names are lower case
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": session.region_name})
        versioning = resource["Properties"].get("VersioningConfiguration")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=versioning)
        created.buckets[logical_id] = name

    ses = session.client("sesv2")
    ses.create_email_identity(EmailIdentity=created.sender_email)
    return created


def sqs_event_sources(function_logical_id: str) -> list[dict[str, Any]]:
    """The SQS event source mappings of a function: queue logical id, batch size, response types."""
    fn = load_template()["Resources"][function_logical_id]["Properties"]
    out = []
    for event in fn.get("Events", {}).values():
        if event["Type"] == "SQS":
            props = event["Properties"]
            out.append(
                {
                    "queue": props["Queue"]["Fn::GetAtt"][0],
                    "batch_size": props.get("BatchSize", 10),
                    "report_batch_item_failures": "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                }
            )
    return out


def http_routes() -> list[dict[str, Any]]:
    """Every HttpApi route of the template: method, path, owning function, authorizer and scopes."""
    template = load_template()
    default_auth = (
        resources("AWS::Serverless::HttpApi")["HttpApi"]["Properties"].get("Auth", {}).get("DefaultAuthorizer")
    )
    routes = []
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        code_uri = resource["Properties"]["CodeUri"].rstrip("/")
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            auth = props.get("Auth", {})
            routes.append(
                {
                    "function": logical_id,
                    "code_uri": code_uri,
                    "event": event_name,
                    "method": props["Method"].upper(),
                    "path": props["Path"],
                    "authorizer": auth.get("Authorizer", default_auth),
                    "scopes": list(auth.get("AuthorizationScopes", [])),
                }
            )
    del template
    return routes


def function_code_uri(function_logical_id: str) -> str:
    return str(load_template()["Resources"][function_logical_id]["Properties"]["CodeUri"]).rstrip("/")
