"""Create the template's queues and tables in a moto server and describe its functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport_cli.local.template import TEMPLATE_PATH, Resolver, load_template, parameter_defaults

_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping, with what the poller needs to emulate Lambda."""

    queue_logical_id: str
    batch_size: int


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    sources: tuple[QueueSource, ...]


@dataclass(frozen=True)
class LocalQueue:
    logical_id: str
    url: str
    arn: str
    visibility_timeout: int
    max_receive_count: int | None
    dead_letter_logical_id: str | None


@dataclass
class LocalStack:
    queues: dict[str, LocalQueue] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    functions: dict[str, LocalFunction] = field(default_factory=dict)

    def function_for_queue(self, queue_logical_id: str) -> tuple[LocalFunction, QueueSource]:
        for function in self.functions.values():
            for source in function.sources:
                if source.queue_logical_id == queue_logical_id:
                    return function, source
        raise KeyError(f"no function consumes {queue_logical_id}")


def _queue_order(resources: Mapping[str, Any]) -> list[str]:
    """Dead-letter queues first, so the queues that redrive to them can reference their ARN."""
    queues = [name for name, spec in resources.items() if spec["Type"] == "AWS::SQS::Queue"]
    return sorted(queues, key=lambda name: "RedrivePolicy" in resources[name].get("Properties", {}))


def _create_queue(sqs: Any, logical_id: str, properties: Mapping[str, Any]) -> tuple[str, str]:
    attributes = {
        name: json.dumps(value)
        if isinstance(value, dict)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for name, value in properties.items()
        if name not in ("QueueName", "Tags")
    }
    url = sqs.create_queue(
        QueueName=properties.get("QueueName", logical_id), Attributes=attributes
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return str(url), str(arn)


def _function(logical_id: str, properties: Mapping[str, Any], env: dict[str, str]) -> LocalFunction:
    sources = tuple(
        QueueSource(
            queue_logical_id=event["Properties"]["Queue"]["Fn::GetAtt"][0],
            batch_size=int(event["Properties"].get("BatchSize", 10)),
        )
        for event in properties.get("Events", {}).values()
        if event["Type"] == "SQS"
    )
    return LocalFunction(
        logical_id=logical_id,
        code_dir=(TEMPLATE_PATH.parent / properties["CodeUri"]).resolve(),
        handler=properties["Handler"],
        environment=env,
        sources=sources,
    )


def deploy(
    session: Any,
    region: str,
    environment_name: str = "local",
    template_path: Path = TEMPLATE_PATH,
) -> LocalStack:
    """Create every queue and table of the template; return where they are and who consumes them."""
    template = load_template(template_path)
    resources: dict[str, Any] = template["Resources"]
    parameters = parameter_defaults(template) | {"EnvironmentName": environment_name}
    resolver = Resolver(
        parameters=parameters, region=region, stack_name=f"rapport-{environment_name}"
    )
    stack = LocalStack()
    sqs = session.client("sqs")
    dynamodb = session.client("dynamodb")

    for logical_id in _queue_order(resources):
        properties = resolver.resolve(resources[logical_id].get("Properties", {}))
        url, arn = _create_queue(sqs, logical_id, properties)
        resolver.resources[logical_id] = {
            "Ref": url,
            "Arn": arn,
            "QueueName": url.rsplit("/", 1)[1],
        }
        raw_redrive = resources[logical_id].get("Properties", {}).get("RedrivePolicy", {})
        stack.queues[logical_id] = LocalQueue(
            logical_id=logical_id,
            url=url,
            arn=arn,
            visibility_timeout=int(properties.get("VisibilityTimeout", 30)),
            max_receive_count=int(raw_redrive["maxReceiveCount"]) if raw_redrive else None,
            dead_letter_logical_id=(
                raw_redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] if raw_redrive else None
            ),
        )

    for logical_id, spec in resources.items():
        if spec["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = resolver.resolve(spec["Properties"])
        name = properties.get("TableName", logical_id)
        dynamodb.create_table(
            TableName=name,
            **{key: properties[key] for key in _TABLE_PROPERTIES if key in properties},
        )
        resolver.resources[logical_id] = {
            "Ref": name,
            "Arn": f"arn:aws:dynamodb:{region}:123456789012:table/{name}",
        }
        stack.tables[logical_id] = name

    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    for logical_id, spec in resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        raw = spec["Properties"]
        env_spec = {
            **global_env.get("Variables", {}),
            **raw.get("Environment", {}).get("Variables", {}),
        }
        env = {name: str(value) for name, value in resolver.resolve(env_spec).items()}
        stack.functions[logical_id] = _function(logical_id, raw, env)
    return stack
