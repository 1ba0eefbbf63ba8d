"""The translated template's ways in and their guards: the EventBridge bus and its rule to the
events queue, the queue policies (TLS only on every queue, the rule and the producer accounts on
the events queue), the archive, the oldest-message alarms and the outputs other stacks import."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.contract import EVENT_MODELS
from tests.support.iam import translated_template

_TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sqs:*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return translated_template()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in template["Resources"].items() if spec["Type"] == kind}


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    [(name, spec)] = _of_type(template, kind).items()
    return name, spec


def _queue_policies(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Queue logical id -> the statements of the policy attached to it."""
    policies: dict[str, list[dict[str, Any]]] = {}
    for spec in _of_type(template, "AWS::SQS::QueuePolicy").values():
        for queue in spec["Properties"]["Queues"]:
            assert queue["Ref"] not in policies, f"{queue['Ref']} has two policies"
            policies[queue["Ref"]] = spec["Properties"]["PolicyDocument"]["Statement"]
    return policies


def test_the_rule_sends_every_contract_type_on_the_bus_to_the_events_queue_as_the_cloudevent(
    template: dict[str, Any],
) -> None:
    bus, _ = _only(template, "AWS::Events::EventBus")
    _, rule = _only(template, "AWS::Events::Rule")
    properties = rule["Properties"]
    assert properties["EventBusName"] == {"Ref": bus}
    assert properties["State"] == "ENABLED"
    assert properties["EventPattern"] == {"detail": {"type": list(EVENT_MODELS)}}
    [target] = properties["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
    assert target["InputPath"] == "$.detail"
    assert not {"Input", "InputTransformer"} & set(target)


def test_every_queue_refuses_requests_that_are_not_over_tls(template: dict[str, Any]) -> None:
    queues = _of_type(template, "AWS::SQS::Queue")
    policies = _queue_policies(template)
    assert len(queues) == 5
    assert set(policies) == set(queues)
    for queue, statements in policies.items():
        denies = [statement for statement in statements if statement.get("Effect") == "Deny"]
        assert denies == [{**_TLS_ONLY, "Resource": {"Fn::GetAtt": [queue, "Arn"]}}], queue


def test_only_the_events_queue_allows_anyone_else_and_only_to_send(
    template: dict[str, Any],
) -> None:
    rule, _ = _only(template, "AWS::Events::Rule")
    policies = _queue_policies(template)
    for queue, statements in policies.items():
        allows = [statement for statement in statements if statement.get("Effect") != "Deny"]
        if queue != "EventsQueue":
            assert allows == [], queue
    from_rule, producers = [s for s in policies["EventsQueue"] if s.get("Effect") != "Deny"]
    assert from_rule == {
        "Sid": "AllowEventsRule",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["EventsQueue", "Arn"]},
        "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}},
    }
    # Present only when producer accounts are given.
    condition, statement, absent = producers["Fn::If"]
    assert condition == "HasProducerAccounts"
    assert absent == {"Ref": "AWS::NoValue"}
    assert statement == {
        "Sid": "AllowProducerAccounts",
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Split": [",", {"Ref": "ProducerAccountIds"}]}},
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["EventsQueue", "Arn"]},
    }


def test_producer_accounts_may_put_only_rapports_types_on_the_bus_and_only_when_given(
    template: dict[str, Any],
) -> None:
    bus, _ = _only(template, "AWS::Events::EventBus")
    _, policy = _only(template, "AWS::Events::EventBusPolicy")
    assert policy["Condition"] == "HasProducerAccounts"
    assert template["Conditions"]["HasProducerAccounts"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ProducerAccountIds"}, ""]}]
    }
    assert template["Parameters"]["ProducerAccountIds"]["Default"] == ""
    properties = policy["Properties"]
    assert properties["EventBusName"] == {"Ref": bus}
    assert properties["Statement"] == {
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Split": [",", {"Ref": "ProducerAccountIds"}]}},
        "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": [bus, "Arn"]},
        "Condition": {"ForAllValues:StringEquals": {"events:detail-type": list(EVENT_MODELS)}},
    }


def test_the_archive_keeps_the_buss_events_for_a_parameter_of_days(
    template: dict[str, Any],
) -> None:
    bus, _ = _only(template, "AWS::Events::EventBus")
    _, archive = _only(template, "AWS::Events::Archive")
    assert archive["Properties"]["SourceArn"] == {"Fn::GetAtt": [bus, "Arn"]}
    assert "EventPattern" not in archive["Properties"]  # every event, routed or not
    assert archive["Properties"]["RetentionDays"] == {"Ref": "EventArchiveRetentionDays"}
    days = template["Parameters"]["EventArchiveRetentionDays"]
    assert days["MinValue"] >= 1  # 0 would mean forever
    assert days["Default"] <= 14


@pytest.mark.parametrize(
    ("queue", "parameter"),
    [
        ("EventsQueue", "EventsQueueAgeAlarmSeconds"),
        ("DigestJobsQueue", "DigestJobsQueueAgeAlarmSeconds"),
    ],
)
def test_a_consumed_queue_alarms_on_its_oldest_message_long_before_sqs_drops_it(
    template: dict[str, Any], queue: str, parameter: str
) -> None:
    [alarm] = [
        spec["Properties"]
        for spec in _of_type(template, "AWS::CloudWatch::Alarm").values()
        if spec["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
        and spec["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}
    ]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}
    ]
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Maximum", "GreaterThanThreshold")
    assert alarm["Threshold"] == {"Ref": parameter}
    assert alarm["AlarmActions"] == {
        "Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]
    }
    queue_properties = template["Resources"][queue]["Properties"]
    retention = queue_properties["MessageRetentionPeriod"]
    # Never below the time a message may wait while it is retried before it is dead-lettered,
    # never above half the retention, so there is time to act.
    retrying = (
        queue_properties["RedrivePolicy"]["maxReceiveCount"] * queue_properties["VisibilityTimeout"]
    )
    threshold = template["Parameters"][parameter]
    assert retrying <= threshold["MinValue"] <= threshold["Default"]
    assert threshold["Default"] <= threshold["MaxValue"] <= retention // 2


@pytest.mark.parametrize(
    ("output", "value"),
    [
        ("EventBusName", {"Ref": "EventBus"}),
        ("EventBusArn", {"Fn::GetAtt": ["EventBus", "Arn"]}),
        ("EventsQueueUrl", {"Ref": "EventsQueue"}),
        ("EventsQueueArn", {"Fn::GetAtt": ["EventsQueue", "Arn"]}),
    ],
)
def test_the_entry_points_are_exported_under_the_stacks_name(
    template: dict[str, Any], output: str, value: dict[str, Any]
) -> None:
    spec = template["Outputs"][output]
    assert spec["Value"] == value
    assert spec["Export"] == {"Name": {"Fn::Sub": f"${{AWS::StackName}}-{output}"}}
