"""Upload the moderator console to its bucket (`make deploy-console STACK=consent-guard-dev`).

Reads the stack's outputs (ConsoleBucketName, ConsoleDistributionId, ConsoleUrl, ConsoleClientId, HostedUiDomain,
ApiUrl), writes the deployed config.json (Cognito sign-in, the API's URL), uploads every console file with its
content type and cache lifetime, deletes files that are no longer part of the console, and invalidates the
distribution. `--dry-run` prints what it would do without calling AWS for anything but the stack's outputs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# index.html and config.json must be fresh after a deploy; scripts and styles are revalidated, not re-downloaded
CACHE = {".html": "no-cache", ".json": "no-cache"}
DEFAULT_CACHE = "public, max-age=300, must-revalidate"

log = logging.getLogger("deploy-console")


def console_files(root: Path = ROOT) -> Iterator[tuple[str, Path]]:
    """(key, path) of every file the console serves: allow-listed types, no dotfiles, never config.json here."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or path.suffix not in CONTENT_TYPES or any(p.startswith(".") for p in relative.parts):
            continue
        if relative.as_posix() == "config.json":
            continue  # the deployed one is written from the stack's outputs
        yield relative.as_posix(), path


def deployed_config(outputs: Mapping[str, str]) -> dict[str, Any]:
    console_url = outputs["ConsoleUrl"]
    return {
        "auth": "cognito",
        "api": outputs["ApiUrl"].rstrip("/"),
        "mediaUrlTemplate": "",
        "cognito": {
            "domain": outputs["HostedUiDomain"].rstrip("/"),
            "clientId": outputs["ConsoleClientId"],
            "redirectUri": console_url if console_url.endswith("/") else console_url + "/",
        },
    }


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def deploy(outputs: Mapping[str, str], s3: Any, cloudfront: Any, dry_run: bool = False) -> list[str]:
    bucket = outputs["ConsoleBucketName"]
    uploads: list[tuple[str, bytes, str]] = [(k, p.read_bytes(), p.suffix) for k, p in console_files()]
    uploads.append(("config.json", json.dumps(deployed_config(outputs), indent=2).encode(), ".json"))
    keys = [k for k, _, _ in uploads]
    for key, body, suffix in uploads:
        log.info("upload s3://%s/%s", bucket, key)
        if not dry_run:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=CONTENT_TYPES[suffix],
                CacheControl=CACHE.get(suffix, DEFAULT_CACHE),
            )
    stale = []
    if not dry_run:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            stale += [o["Key"] for o in page.get("Contents", []) if o["Key"] not in keys]
        for key in stale:
            log.info("delete s3://%s/%s", bucket, key)
            s3.delete_object(Bucket=bucket, Key=key)
        cloudfront.create_invalidation(
            DistributionId=outputs["ConsoleDistributionId"],
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": f"deploy-{time.time_ns()}",
            },
        )
    log.info("console: %s", outputs["ConsoleUrl"])
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument("--region", default=None)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    session = boto3.session.Session(region_name=args.region)
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    missing = {
        "ConsoleBucketName",
        "ConsoleDistributionId",
        "ConsoleUrl",
        "ConsoleClientId",
        "HostedUiDomain",
        "ApiUrl",
    }
    missing -= set(outputs)
    if missing:
        log.error("stack %s lacks outputs %s: deploy template.yaml first (sam deploy)", args.stack, sorted(missing))
        return 1
    deploy(outputs, session.client("s3"), session.client("cloudfront"), dry_run=args.dry_run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
