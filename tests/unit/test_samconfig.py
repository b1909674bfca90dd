"""samconfig.toml: the deployment environments `make deploy [ENV=prod]` uses, kept in step with template.yaml."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from local.template import ROOT, load_template

CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
ENVIRONMENTS = ("default", "prod")


def _overrides(env: str) -> dict[str, str]:
    listed: list[str] = CONFIG[env]["deploy"]["parameters"]["parameter_overrides"]
    return dict(entry.split("=", 1) for entry in listed)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_deploys_its_own_stack_with_what_sam_needs(env: str) -> None:
    deploy: dict[str, Any] = CONFIG[env]["deploy"]["parameters"]
    assert CONFIG[env]["global"]["parameters"]["stack_name"] == f"consent-guard-{_overrides(env)['Stage']}"
    assert CONFIG[env]["global"]["parameters"]["region"]
    assert deploy["resolve_s3"] is True
    assert deploy["capabilities"] == "CAPABILITY_IAM"  # the functions' roles carry no fixed names


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_parameter_overrides_name_template_parameters_with_valid_values(env: str) -> None:
    parameters: dict[str, Any] = load_template()["Parameters"]
    overrides = _overrides(env)
    assert set(overrides) <= set(parameters), set(overrides) - set(parameters)
    for name, value in overrides.items():
        pattern = parameters[name].get("AllowedPattern")
        if pattern:
            assert re.fullmatch(pattern, value), (name, value)
        if parameters[name]["Type"] == "Number":
            assert value.isdigit(), (name, value)


def test_stages_differ() -> None:
    assert _overrides("default")["Stage"] != _overrides("prod")["Stage"]
    assert (
        CONFIG["default"]["global"]["parameters"]["stack_name"] != CONFIG["prod"]["global"]["parameters"]["stack_name"]
    )
