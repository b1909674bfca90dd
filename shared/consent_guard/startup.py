"""A Lambda execution environment's Init with the cyclic garbage collector paused, and what it built frozen.

A cold start allocates a few hundred thousand objects that live as long as the process: modules, classes,
pydantic's validators, botocore's service models and endpoint data (the endpoint table alone is a 1.2 MB JSON
document). CPython's collector does not know they are permanent, so while they are being built its full
collections walk every one of them again, many times over; none of it is garbage (bench/marginal.py's
`gc-paused` piece measures what that costs). So in Lambda the collector is paused from the first import of the
layer until the first invocation has answered, then everything alive is moved to the permanent generation
(`gc.freeze`), where later collections no longer walk it, and the collector resumes. The only cyclic garbage
this keeps is what the Init and the first invocation left behind, once.

Only where Lambda says it is initializing an environment (AWS_LAMBDA_INITIALIZATION_TYPE is set by the runtime,
on-demand or provisioned-concurrency): tests, the local stack and tools keep the collector as it is.
"""

from __future__ import annotations

import gc
import os

_paused: list[bool] = []


def pause_for_init() -> None:
    """Called by the package's __init__, before anything else of the layer is imported."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") and gc.isenabled():
        gc.disable()
        _paused.append(True)


def init_done() -> None:
    """Called when the first invocation has answered (observability's handler decorator); later calls do nothing."""
    if _paused:
        _paused.clear()
        gc.freeze()
        gc.enable()


def paused() -> bool:
    return bool(_paused)
