"""Logger and Metrics, created once per process. Log ids and outcomes, never report content."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="consent-guard")
metrics = Metrics(namespace="ConsentGuard", service="consent-guard")

__all__ = ["MetricUnit", "logger", "metrics"]
