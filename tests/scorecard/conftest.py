"""The scorecard's own tests run the real handlers on moto with the fixtures of tests/handlers."""

from tests.handlers.conftest import frozen_now, stack

__all__ = ["frozen_now", "stack"]
