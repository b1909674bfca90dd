"""Alarms on the product's own metrics watch metrics the product emits, under the dimensions it emits them with:
an alarm on a name nobody emits, or on the wrong dimension, never fires."""

from __future__ import annotations

import re
from typing import Any

from local.template import ROOT, load_template, resources

# the names the product's code spells as string literals (a metric's name is one, given to metrics.add_metric
# directly or through a table of names)
LITERALS = {
    name
    for path in (ROOT / "shared" / "consent_guard").rglob("*.py")
    for name in re.findall(r'"([A-Za-z][A-Za-z0-9_]*)"', path.read_text())
}


def _custom_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    props = alarm["Properties"]
    found = [props] if "MetricName" in props else []
    found += [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
    return [m for m in found if m.get("Namespace") == "ConsentGuard"]


def test_every_alarm_on_a_product_metric_watches_one_that_is_emitted_as_it_is_emitted() -> None:
    env = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ConsentGuard"
    watched = {}
    for name, alarm in resources("AWS::CloudWatch::Alarm").items():
        for metric in _custom_metrics(alarm):
            watched[(name, metric["MetricName"])] = metric
    assert ("InlineDeliveryDeferredAlarm", "InlineDeliveryDeferred") in watched
    assert ("StatementsRejectedAlarm", "StatementsRejected") in watched
    for (alarm_name, metric_name), metric in watched.items():
        assert metric_name in LITERALS, (alarm_name, metric_name)
        # the metrics are emitted with the service as their one dimension (consent_guard.observability)
        assert metric.get("Dimensions") == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}], alarm_name


def test_the_inline_delivery_alarm_compares_failures_with_deliveries_and_is_routed() -> None:
    alarm = resources("AWS::CloudWatch::Alarm")["InlineDeliveryDeferredAlarm"]["Properties"]
    returned = [m for m in alarm["Metrics"] if m["ReturnData"]]
    assert len(returned) == 1 and "deferred" in returned[0]["Expression"] and "delivered" in returned[0]["Expression"]
    assert alarm["AlarmActions"] and alarm["TreatMissingData"] == "notBreaching"
