"""The SAM template translates offline, lints clean, and matches the code it deploys."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform

from rapport.settings import ReadSettings, TableSettings
from rapport_cli.local.lambda_runtime import load_handler
from rapport_cli.local.template import TEMPLATE_PATH, load_template


class _NoManagedPolicies:
    """The template uses inline policies only, so no managed-policy lookup is needed offline."""

    def load(self) -> dict[str, str]:
        return {}


def _with_s3_code(template: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri/ContentUri become s3:// placeholders, as `sam package` would make them."""
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://rapport-artifacts/{Path(properties[key]).name}.zip"
    return packaged


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    result: dict[str, Any] = transform(_with_s3_code(load_template()), {}, _NoManagedPolicies())
    return result


def test_the_translated_template_lints_clean(translated: dict[str, Any]) -> None:
    matches = lint(json.dumps(translated), config=ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


def test_every_function_is_python313_on_arm64_with_tracing(translated: dict[str, Any]) -> None:
    functions = [
        resource["Properties"]
        for resource in translated["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    assert functions
    for function in functions:
        assert function["Runtime"] == "python3.13"
        assert function["Architectures"] == ["arm64"]
        assert function["TracingConfig"] == {"Mode": "Active"}


def test_the_events_queue_reports_partial_batch_failures(translated: dict[str, Any]) -> None:
    mappings = [
        resource["Properties"]
        for resource in translated["Resources"].values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert mappings
    for mapping in mappings:
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] <= 10


def test_every_queue_is_encrypted_and_every_consumed_queue_has_a_dead_letter_queue() -> None:
    resources = load_template()["Resources"]
    queues = {name: spec for name, spec in resources.items() if spec["Type"] == "AWS::SQS::Queue"}
    for spec in queues.values():
        assert spec["Properties"]["SqsManagedSseEnabled"] is True
    consumed = {
        event["Properties"]["Queue"]["Fn::GetAtt"][0]
        for spec in resources.values()
        if spec["Type"] == "AWS::Serverless::Function"
        for event in spec["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    }
    for name in consumed:
        redrive = queues[name]["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] >= 5
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues


@pytest.mark.parametrize(
    "logical_id",
    [
        name
        for name, spec in load_template()["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function"
    ],
)
def test_every_handler_imports_and_its_settings_are_provided(logical_id: str) -> None:
    template = load_template()
    properties = template["Resources"][logical_id]["Properties"]
    code_dir = (TEMPLATE_PATH.parent / properties["CodeUri"]).resolve()
    handler = load_handler(code_dir, properties["Handler"], f"template_check_{logical_id}")
    assert callable(handler)
    environment = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **properties.get("Environment", {}).get("Variables", {}),
    }
    for model in (TableSettings, ReadSettings):
        for field in model.model_fields.values():
            if field.is_required():
                assert field.alias in environment, f"{logical_id} lacks {field.alias}"
