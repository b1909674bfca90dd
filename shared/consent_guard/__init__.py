"""consent-guard policy layer: models, policy engine, repository, services and observability."""

__version__ = "0.1.0"
