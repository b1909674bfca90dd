"""The slim botocore data `make build` writes into the layer (local/botocore_data.py) changes nothing a client
does: the same operations, shapes and protocol, the same endpoint and signing region in every partition."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest

from consent_guard import aws
from local import botocore_data

BOTOCORE_DATA = Path(botocore.__file__).with_name("data")
# one region of each partition the table knows, and the layer's own
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "eu-central-2")


@pytest.fixture(scope="module")
def slim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layer") / "botocore_data"
    botocore_data.slim(BOTOCORE_DATA, out, aws.SERVICES)
    return out


def _session(slim: Path | None) -> botocore.session.Session:
    session = botocore.session.Session()
    session.set_config_variable("credentials_file", "/nonexistent")
    session.set_config_variable("config_file", "/nonexistent")
    if slim is not None:
        session.get_component("data_loader").search_paths.insert(0, str(slim))
    return session


def _client(session: botocore.session.Session, service: str, region: str) -> Any:
    return session.create_client(service, region_name=region, aws_access_key_id="k", aws_secret_access_key="s")


def _signature(client: Any) -> dict[str, Any]:
    model = client.meta.service_model
    return {
        "endpoint": client.meta.endpoint_url,
        "region": client.meta.region_name,
        "signing_name": model.signing_name,
        "protocol": model.protocol,
        "api_version": model.api_version,
        "operations": {
            name: (
                str(op.http),
                op.input_shape and op.input_shape.name,
                op.output_shape and op.output_shape.name,
                [e.name for e in op.error_shapes],
            )
            for name in model.operation_names
            for op in [model.operation_model(name)]
        },
        "shapes": sorted(model.shape_names),
        "client_context_parameters": [(p.name, p.type) for p in model.client_context_parameters],
        "request": _first_request(client),
    }


# one call of each service, stopped before it is sent: what endpoint rules, serializer and signer make of it
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "dynamodb": ("get_item", {"TableName": "t", "Key": {"pk": {"S": "a"}}}),
    "events": ("put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
    "s3": ("get_object", {"Bucket": "bucket", "Key": "snapshots/current.json"}),
    "sesv2": ("send_email", {"FromEmailAddress": "a@example.com", "Content": {"Raw": {"Data": b"x"}}}),
    "sqs": ("send_message", {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q", "MessageBody": "m"}),
    "ssm": ("get_parameter", {"Name": "/p", "WithDecryption": True}),
}


class _Stopped(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _stop(request: Any, **_: Any) -> None:
    raise _Stopped(request)


def _first_request(client: Any) -> tuple[str, str, bytes, list[str]]:
    operation, params = CALLS[client.meta.service_model.service_name]
    client.meta.events.register("before-send", _stop)
    try:
        getattr(client, operation)(**params)
    except _Stopped as stopped:
        r = stopped.request
        body = r.body if isinstance(r.body, bytes) else str(r.body or "").encode()
        return r.method, r.url, body, sorted(k.lower() for k in r.headers)
    raise AssertionError(f"{operation} was not stopped before sending")


@pytest.mark.parametrize("service", aws.SERVICES)
def test_a_client_on_the_slim_data_is_the_same_client(slim_dir: Path, service: str) -> None:
    full, slim = _session(None), _session(slim_dir)
    for region in REGIONS:
        assert _signature(_client(slim, service, region)) == _signature(_client(full, service, region)), region
    loader = slim.get_component("data_loader")
    version = botocore_data.latest_version(BOTOCORE_DATA / service).name
    for name in ("endpoints", f"{service}/{version}/service-2", f"{service}/{version}/endpoint-rule-set-1"):
        assert loader.load_data_with_path(name)[1].startswith(str(slim_dir)), name  # really read from the slim data


@pytest.mark.parametrize("service", aws.SERVICES)
def test_the_slim_model_is_the_model_without_documentation(slim_dir: Path, service: str) -> None:
    version = botocore_data.latest_version(BOTOCORE_DATA / service)
    original = json.loads(gzip.decompress((version / "service-2.json.gz").read_bytes()))
    slim = json.loads((slim_dir / service / version.name / "service-2.json").read_text())
    assert slim == botocore_data.without_documentation(original)
    assert len(json.dumps(slim)) < len(json.dumps(original)) * 0.6
    assert list(slim["shapes"]) == list(original["shapes"])  # the order members serialize in is kept
    for name, shape in original["shapes"].items():
        assert list(slim["shapes"][name].get("members", {})) == list(shape.get("members", {}))
    assert all(op.get("documentation", "") == "" for op in slim["operations"].values())


def test_the_endpoint_table_keeps_every_partition_and_region_and_only_our_services(slim_dir: Path) -> None:
    original = json.loads((BOTOCORE_DATA / "endpoints.json").read_text())
    slim = json.loads((slim_dir / "endpoints.json").read_text())
    assert [p["partition"] for p in slim["partitions"]] == [p["partition"] for p in original["partitions"]]
    for ours, theirs in zip(slim["partitions"], original["partitions"], strict=True):
        assert ours["regions"] == theirs["regions"]
        assert ours["defaults"] == theirs["defaults"]
        assert set(ours["services"]) <= set(aws.SERVICES)
        assert {k: v for k, v in theirs["services"].items() if k in aws.SERVICES} == ours["services"]
    assert (slim_dir / "endpoints.json").stat().st_size < (BOTOCORE_DATA / "endpoints.json").stat().st_size / 10


def test_the_session_reads_the_slim_data_first_when_the_layer_has_it(
    slim_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws, "_session", [])
    monkeypatch.setattr(aws, "_slim_data", slim_dir)
    assert aws.session().get_component("data_loader").search_paths[0] == str(slim_dir)
    monkeypatch.setattr(aws, "_session", [])
    monkeypatch.setattr(aws, "_slim_data", slim_dir / "absent")
    assert str(slim_dir / "absent") not in aws.session().get_component("data_loader").search_paths


def test_a_client_of_a_service_without_slim_data_is_refused() -> None:
    with pytest.raises(ValueError, match="SERVICES"):
        aws.client("kms")
