"""The SAM template translates offline and matches the code it deploys.

`make security-translated` lints the translation (cfn-lint) and scans it (checkov).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import rapport.settings
from rapport.adapters.aws import DYNAMODB_CONFIG
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.digest_store import DUE_INDEX
from rapport.adapters.dynamodb.items import EVENTS_UNTIL, EXPIRES_AT, MEMBER_REF
from rapport_cli.local.template import TEMPLATE_PATH, LogicalId, load_template
from tests.support.iam import translated_template


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translated_template()


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
        # Lambda's rule for standard queues: more than 10 records need a batching window.
        assert mapping["BatchSize"] <= 10 or mapping["MaximumBatchingWindowInSeconds"] >= 1


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


def test_each_consumed_queue_hides_a_message_for_six_times_its_functions_timeout() -> None:
    resources = load_template()["Resources"]
    checked = 0
    for spec in resources.values():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        for event in spec["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = resources[event["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
                assert queue["VisibilityTimeout"] >= 6 * spec["Properties"]["Timeout"]
                checked += 1
    assert checked == 2


_FUNCTIONS = [
    name
    for name, spec in load_template()["Resources"].items()
    if spec["Type"] == "AWS::Serverless::Function"
]


@pytest.mark.parametrize("logical_id", _FUNCTIONS)
def test_every_handler_imports_and_its_settings_are_provided(logical_id: str) -> None:
    template = load_template()
    properties = template["Resources"][logical_id]["Properties"]
    code_dir = (TEMPLATE_PATH.parent / properties["CodeUri"]).resolve()
    from rapport_cli.local.lambda_runtime import load_module  # imports moto

    module = load_module(code_dir, properties["Handler"], f"template_check_{logical_id}")
    assert callable(getattr(module, properties["Handler"].rsplit(".", 1)[1]))
    environment = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **properties.get("Environment", {}).get("Variables", {}),
    }
    settings: type[BaseModel] = getattr(rapport.settings, module.SETTINGS)
    for field in settings.model_fields.values():
        assert field.alias in environment, f"{logical_id} does not set {field.alias}"


def test_the_table_and_its_index_are_the_ones_the_stores_use() -> None:
    table = load_template()["Resources"][LogicalId.TABLE]["Properties"]
    assert [key["AttributeName"] for key in table["KeySchema"]] == ["pk", "sk"]
    due, member, history = table["GlobalSecondaryIndexes"]
    assert member["IndexName"] == keys.MEMBER_INDEX
    assert [key["AttributeName"] for key in member["KeySchema"]] == [MEMBER_REF]
    assert history["IndexName"] == keys.HISTORY_INDEX
    assert [key["AttributeName"] for key in history["KeySchema"]] == ["pk", EVENTS_UNTIL]
    # The digest decodes every event of a request from the index: all of it is projected.
    assert history["Projection"] == {"ProjectionType": "ALL"}
    index = due
    assert index["IndexName"] == DUE_INDEX
    assert [key["AttributeName"] for key in index["KeySchema"]] == ["due_shard", "next_due_at"]
    assert set(index["Projection"]["NonKeyAttributes"]) == {"member_id", "timezone", EXPIRES_AT}
    assert table["TimeToLiveSpecification"] == {"AttributeName": EXPIRES_AT, "Enabled": True}


def test_process_events_time_reserve_fits_one_dynamodb_call_and_leaves_time_for_work() -> None:
    properties = load_template()["Resources"][LogicalId.PROCESS_EVENTS]["Properties"]
    code_dir = (TEMPLATE_PATH.parent / properties["CodeUri"]).resolve()
    from rapport_cli.local.lambda_runtime import load_module  # imports moto

    module = load_module(code_dir, properties["Handler"], "template_check_time_reserve")
    reserve_s = module.TIME_RESERVE_MS / 1000
    config = DYNAMODB_CONFIG
    attempts = config.retries["total_max_attempts"]
    # Standard retry mode waits at most 2**n seconds (capped at 20) before retry n + 1.
    backoff = sum(min(2**retry, 20) for retry in range(attempts - 1))
    worst_call = attempts * (config.connect_timeout + config.read_timeout) + backoff
    assert worst_call <= reserve_s
    # Half of the invocation at least is for records; with less, most batches would go back.
    assert properties["Timeout"] >= 2 * reserve_s
