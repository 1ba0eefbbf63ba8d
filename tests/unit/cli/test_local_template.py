"""The local runtime reads the template as the SAM CLI does and evaluates every intrinsic it
meets, or says which one it cannot: nothing reaches moto half-resolved."""

from __future__ import annotations

from typing import Any

import pytest

from rapport_cli.local.template import (
    LogicalId,
    Resolver,
    UnresolvableIntrinsic,
    load_template,
    parameter_defaults,
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _resolver(template: dict[str, Any], **parameters: str) -> Resolver:
    return Resolver(
        parameters=parameter_defaults(template) | parameters,
        region="eu-west-1",
        stack_name="rapport-local",
        conditions=template["Conditions"],
        resources={"RapportTable": {"Ref": "rapport-local-table", "Arn": "arn:table"}},
    )


def test_every_named_resource_is_in_the_template(template: dict[str, Any]) -> None:
    assert {name.value for name in LogicalId} <= template["Resources"].keys()


def test_short_tags_are_read_in_their_long_forms(template: dict[str, Any]) -> None:
    events = template["Resources"]["ProcessEventsFunction"]["Properties"]["Events"]
    assert events["Events"]["Properties"]["Queue"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
    assert template["Conditions"]["ProtectTable"] == {
        "Fn::Equals": [{"Ref": "DeletionProtection"}, "true"]
    }


def test_conditions_follow_the_parameters(template: dict[str, Any]) -> None:
    protected = template["Resources"]["RapportTable"]["Properties"]["DeletionProtectionEnabled"]
    assert _resolver(template, DeletionProtection="true").resolve(protected) is True
    assert _resolver(template, DeletionProtection="false").resolve(protected) is False


def test_no_value_leaves_the_property_out(template: dict[str, Any]) -> None:
    alarm = {
        "AlarmActions": template["Resources"]["EventsDeadLetterAlarm"]["Properties"]["AlarmActions"]
    }
    assert _resolver(template, AlarmEmail="").resolve(alarm) == {}
    resolver = _resolver(template, AlarmEmail="ops@example.com")
    resolver.resources["AlarmTopic"] = {"Ref": "arn:topic"}
    assert resolver.resolve(alarm) == {"AlarmActions": ["arn:topic"]}


def test_sub_join_split_and_select_are_evaluated(template: dict[str, Any]) -> None:
    resolver = _resolver(template)
    node = {
        "Name": {"Fn::Sub": ["${Table}-${AWS::Region}", {"Table": {"Ref": "RapportTable"}}]},
        "Arn": {"Fn::Sub": "${RapportTable.Arn}/index"},
        "Joined": {"Fn::Join": ["/", ["a", {"Ref": "AWS::StackName"}]]},
        "Second": {"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]},
    }
    assert resolver.resolve(node) == {
        "Name": "rapport-local-table-eu-west-1",
        "Arn": "arn:table/index",
        "Joined": "a/rapport-local",
        "Second": "y",
    }


@pytest.mark.parametrize(
    ("node", "named"),
    [
        ({"Fn::ImportValue": "shared-vpc"}, "Fn::ImportValue"),
        ({"Fn::FindInMap": ["Map", "a", "b"]}, "Fn::FindInMap"),
        ({"Ref": "NoSuchThing"}, "NoSuchThing"),
        ({"Fn::GetAtt": ["NoSuchThing", "Arn"]}, "NoSuchThing.Arn"),
        ({"Fn::If": ["NoSuchCondition", 1, 2]}, "NoSuchCondition"),
    ],
)
def test_an_intrinsic_it_cannot_evaluate_is_an_error_naming_it(
    template: dict[str, Any], node: dict[str, Any], named: str
) -> None:
    with pytest.raises(UnresolvableIntrinsic, match=named):
        _resolver(template).resolve({"Properties": {"Value": node}})


def test_every_resource_the_local_stack_builds_resolves_completely(
    template: dict[str, Any],
) -> None:
    """What `deploy` resolves (the queues, table, secret, bus and configuration set, and every
    function's environment) holds no intrinsic afterwards."""
    resolver = _resolver(template)
    for logical_id in template["Resources"]:
        resolver.resources.setdefault(logical_id, {"Ref": logical_id, "Arn": f"arn:{logical_id}"})
    resolver.resources["UnsubscribeFunctionUrl"] = {"FunctionUrl": "https://local/"}
    built = {
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::SecretsManager::Secret",
        "AWS::SES::ConfigurationSet",
        "AWS::Events::EventBus",
    }
    for spec in template["Resources"].values():
        if spec["Type"] in built:
            _assert_plain(resolver.resolve(spec.get("Properties", {})))
        if spec["Type"] == "AWS::Serverless::Function":
            _assert_plain(resolver.resolve(spec["Properties"].get("Environment", {})))


def _assert_plain(node: Any) -> None:
    if isinstance(node, dict):
        assert not any(key == "Ref" or key.startswith("Fn::") for key in node), node
        for value in node.values():
            _assert_plain(value)
    elif isinstance(node, list):
        for item in node:
            _assert_plain(item)
