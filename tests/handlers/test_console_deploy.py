"""`make deploy-console` on moto: every console file with its type, the deployed config, stale files removed."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from console import deploy

OUTPUTS = {
    "ConsoleBucketName": "console-bucket",
    "ConsoleDistributionId": "",
    "ConsoleUrl": "https://d111.cloudfront.net/",
    "ConsoleClientId": "console-client",
    "HostedUiDomain": "https://consent-guard-dev.auth.eu-west-1.amazoncognito.com",
    "ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev",
}


@mock_aws
def test_deploy_uploads_the_console_with_types_and_the_deployed_config() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="console-bucket")
    s3.put_object(Bucket="console-bucket", Key="old.js", Body=b"stale")
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "t",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "o",
                        "DomainName": "console-bucket.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "o",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            },
        }
    )["Distribution"]["Id"]

    keys = deploy.deploy({**OUTPUTS, "ConsoleDistributionId": distribution}, s3, cloudfront)

    stored = {o["Key"] for o in s3.list_objects_v2(Bucket="console-bucket")["Contents"]}
    assert stored == set(keys) and {"index.html", "js/app.js", "styles.css", "config.json"} <= stored
    assert not any(k.endswith(".py") for k in stored)
    index = s3.get_object(Bucket="console-bucket", Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8" and index["CacheControl"] == "no-cache"
    assert s3.get_object(Bucket="console-bucket", Key="js/app.js")["ContentType"] == "text/javascript; charset=utf-8"
    config = json.loads(s3.get_object(Bucket="console-bucket", Key="config.json")["Body"].read())
    assert config["auth"] == "cognito" and config["api"] == OUTPUTS["ApiUrl"]
    assert config["cognito"] == {
        "domain": OUTPUTS["HostedUiDomain"],
        "clientId": "console-client",
        "redirectUri": "https://d111.cloudfront.net/",
    }
    invalidations = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert invalidations["Quantity"] == 1
