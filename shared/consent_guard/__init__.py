"""consent-guard policy layer: models, policy engine, repository, services and observability."""

from consent_guard import startup as _startup

__version__ = "0.1.0"

# first of all: in a Lambda Init, the rest of the layer is imported with the garbage collector paused (see startup)
_startup.pause_for_init()
