"""In a Lambda Init the garbage collector is paused from the layer's first import until the first invocation has
answered, then what the Init built is frozen (consent_guard.startup); anywhere else it is left alone."""

from __future__ import annotations

import pytest

from tests.unit.probe import function_probe, probe
from tests.unit.test_import_graph import functions

LAMBDA = {"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}

FIRST_INVOCATIONS = """
import gc, json
import consent_guard.models.domain  # a good part of a function's Init
from consent_guard.observability import logger
seen = {"after_import": gc.isenabled(), "frozen_before": gc.get_freeze_count()}

class Context:
    function_name = "f"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:f"

@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    seen.setdefault("during_first", gc.isenabled())
    if event.get("fail"):
        raise RuntimeError("boom")
    return "ok"

try:
    handler({"fail": FAIL}, Context())
except RuntimeError:
    seen["raised"] = True
seen["after_first"] = gc.isenabled()
seen["frozen_after"] = gc.get_freeze_count()
handler({}, Context())
seen["after_second"] = gc.isenabled()
print(json.dumps(seen))
"""


@pytest.mark.parametrize("fail", [False, True], ids=["answered", "raised"])
def test_in_a_lambda_init_the_collector_pauses_until_the_first_invocation_ends(fail: bool) -> None:
    seen = probe(FIRST_INVOCATIONS.replace("FAIL", str(fail)), env=LAMBDA)
    assert seen["after_import"] is False and seen["during_first"] is False
    assert seen["after_first"] is True and seen["after_second"] is True
    assert seen["frozen_before"] == 0 and seen["frozen_after"] > 10_000  # the Init's objects, out of later passes
    assert seen.get("raised", False) is fail


def test_outside_lambda_the_collector_is_left_alone() -> None:
    seen = probe(FIRST_INVOCATIONS.replace("FAIL", "False"))
    assert seen["after_import"] is True and seen["during_first"] is True
    assert seen["frozen_after"] == 0


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    code = (
        "import gc, json\ngc.disable()\nfrom consent_guard import startup\n"
        "startup.init_done()\nprint(json.dumps([gc.isenabled(), startup.paused()]))"
    )
    assert probe(code, env=LAMBDA) == [False, False]


_INIT = """
import gc, json
import app
order = list(sys.modules)
print(json.dumps({"collecting": gc.isenabled(), "first": [m for m in order if m.split(".")[0] in HEAVY][:1]}))
"""
HEAVY = ("consent_guard", "pydantic", "pydantic_core", "botocore", "urllib3", "jinja2", "numpy")


@pytest.mark.parametrize("folder", sorted(set(functions().values())))
def test_every_function_imports_its_whole_init_with_the_collector_paused(folder: str) -> None:
    """consent_guard is the first heavy package each function's app imports, so the pause covers the rest.
    (sys.modules is in the order imports completed: consent_guard.startup completes first, within the package's
    __init__, which pauses the collector before any other package of the layer can start.)"""
    seen = function_probe(folder, _INIT.replace("HEAVY", repr(HEAVY)), env=LAMBDA)
    assert seen == {"collecting": False, "first": ["consent_guard.startup"]}
