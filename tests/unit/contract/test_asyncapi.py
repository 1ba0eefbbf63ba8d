"""events/asyncapi.yaml is current, valid AsyncAPI 3.0.0, and says what the contract and the
template say.

It is validated offline against the official AsyncAPI 3.0.0 JSON Schema, vendored from the
``@asyncapi/specs`` npm package (tests/support/asyncapi/README.md). That schema checks the
structure and the SQS bindings; the tests below add what it cannot see: that every ``$ref``
resolves, that the messages are exactly the contract's types with their schema files, and that
each operation sends or receives its own channel's messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from rapport.contract import EVENT_MODELS
from rapport_cli import asyncapi
from rapport_cli.local.template import load_template
from tests.support.schema import ROOT, SCHEMA_DIR

ASYNCAPI = ROOT / "events" / "asyncapi.yaml"
SPEC = Path(__file__).resolve().parents[2] / "support" / "asyncapi" / "asyncapi-3.0.0.schema.json"
DOCUMENT: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
#: ``schemaFormat`` version -> the ``$schema`` of files in that draft.
DRAFTS = {"draft-2020-12": "https://json-schema.org/draft/2020-12/schema"}


def _spec_validator() -> jsonschema.protocols.Validator:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    assert spec["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    validator_class = jsonschema.validators.validator_for(spec)
    return validator_class(spec, format_checker=jsonschema.FormatChecker())


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(pointer: str) -> Any:
    node: Any = DOCUMENT
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_committed_document_is_up_to_date() -> None:
    generated = asyncapi.render(asyncapi.document("schema", load_template()))
    assert ASYNCAPI.read_text(encoding="utf-8") == generated, "run `make schemas`"


def test_the_document_is_valid_asyncapi_3_0_0() -> None:
    errors = sorted(_spec_validator().iter_errors(DOCUMENT), key=lambda error: error.path)
    assert not errors, jsonschema.exceptions.best_match(errors)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("operations.receiveEvents.action", "consume"),
        ("channels.eventsQueue.bindings.sqs.queue.visibilityTimeout", "180"),
        ("channels.eventsQueue.bindings.sqs.queue.fifoQueue", None),
        ("servers.sqs.host", None),
        ("channels.eventBus.bindings.sqs", {"queue": {"name": "x"}}),
        ("asyncapi", "2.6.0"),
    ],
)
def test_the_asyncapi_schema_refuses_a_broken_document(path: str, value: Any) -> None:
    broken = json.loads(json.dumps(DOCUMENT))
    *parents, leaf = path.split(".")
    target = broken
    for part in parents:
        target = target[part]
    if value is None:
        del target[leaf]
    else:
        target[leaf] = value
    assert not _spec_validator().is_valid(broken)


def test_every_reference_resolves() -> None:
    refs = set(_refs(DOCUMENT))
    assert refs
    for ref in refs:
        if ref.startswith("#/"):
            _resolve(ref)
        else:
            assert (ASYNCAPI.parent / ref).resolve().parent == SCHEMA_DIR, ref
            assert (ASYNCAPI.parent / ref).is_file(), ref


def test_the_messages_are_the_contract_types_with_their_schema_files() -> None:
    messages = DOCUMENT["components"]["messages"]
    assert [message["name"] for message in messages.values()] == list(EVENT_MODELS)
    for message in messages.values():
        payload = message["payload"]
        media_type, version = payload["schemaFormat"].split(";version=")
        assert media_type == "application/schema+json"
        path = ASYNCAPI.parent / payload["schema"]["$ref"]
        assert path.name == f"{message['name']}.schema.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == DRAFTS[version]
        assert schema["title"] == message["title"] == EVENT_MODELS[message["name"]].__name__


def test_every_channel_carries_every_message_and_operations_use_their_channel() -> None:
    components = {f"#/components/messages/{name}" for name in DOCUMENT["components"]["messages"]}
    for channel in DOCUMENT["channels"].values():
        assert {message["$ref"] for message in channel["messages"].values()} == components
    actions = set()
    for operation in DOCUMENT["operations"].values():
        channel = operation["channel"]["$ref"]
        actions.add((channel, operation["action"]))
        assert operation["messages"], operation
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/")
            assert _resolve(message["$ref"])["$ref"] in components
    assert actions == {
        ("#/channels/eventsQueue", "receive"),
        ("#/channels/eventsQueue", "send"),
        ("#/channels/eventBus", "send"),
    }


def _sub(value: Any) -> str:
    return str(value["Fn::Sub"] if isinstance(value, dict) else value)


def test_the_bus_channel_names_what_the_template_defines() -> None:
    resources = load_template()["Resources"]
    buses = [item for item in resources.values() if item["Type"] == "AWS::Events::EventBus"]
    if not buses:
        pytest.skip("the template has no event bus yet")
    [bus] = buses
    assert _sub(bus["Properties"]["Name"]) == asyncapi.EVENT_BUS_NAME
    rules = [
        (rule["Properties"], target)
        for rule in resources.values()
        if rule["Type"] == "AWS::Events::Rule"
        for target in rule["Properties"]["Targets"]
        if target["Arn"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
    ]
    [(rule, target)] = rules
    assert _sub(rule["Name"]) == asyncapi.EVENT_RULE_NAME
    assert target["InputPath"] == asyncapi.EVENT_RULE_INPUT_PATH
    described = DOCUMENT["channels"]["eventBus"]["bindings"]["x-eventbridge"]
    assert rule["EventPattern"] == described["eventPattern"]
