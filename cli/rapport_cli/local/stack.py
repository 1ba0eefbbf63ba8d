"""Create the template's resources in a moto server and describe its functions.

Supported: SQS queues (with redrive), DynamoDB tables (with indexes), Secrets Manager secrets
(a random value, like ``GenerateSecretString``), SES configuration sets, EventBridge buses and
rules with their targets, and for functions their environment, SQS event sources, ScheduleV2
schedules and function URLs. The SES sender identity (verified by hand in a real account) is
created here so local digests can be sent. Not created: queue and bus policies (moto enforces
none), the event archive (nothing replays locally) and the alarms.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from rapport_cli.local.template import (
    TEMPLATE_PATH,
    LogicalId,
    Resolver,
    load_template,
    parameter_defaults,
)

_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)
_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping, with what the poller needs to emulate Lambda."""

    queue_logical_id: str
    batch_size: int


@dataclass(frozen=True)
class AsyncRetries:
    """How Lambda retries an asynchronous invocation whose run failed: the function's
    ``EventInvokeConfig``, else Lambda's defaults (2 retries; events kept for 6 hours)."""

    maximum_retry_attempts: int = 2
    maximum_event_age: timedelta = timedelta(hours=6)

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> AsyncRetries:
        config = properties.get("EventInvokeConfig", {})
        default = cls()
        return cls(
            maximum_retry_attempts=int(
                config.get("MaximumRetryAttempts", default.maximum_retry_attempts)
            ),
            maximum_event_age=timedelta(
                seconds=int(
                    config.get(
                        "MaximumEventAgeInSeconds", default.maximum_event_age.total_seconds()
                    )
                )
            ),
        )


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    sources: tuple[QueueSource, ...]
    #: The ``Input`` of its ScheduleV2 event, if it runs on a schedule.
    schedule_input: str | None = None
    #: What happens when an asynchronous invocation (a scheduled run) fails.
    async_retries: AsyncRetries = AsyncRetries()


@dataclass(frozen=True)
class LocalQueue:
    logical_id: str
    url: str
    arn: str
    visibility_timeout: int
    max_receive_count: int | None
    dead_letter_logical_id: str | None


@dataclass(frozen=True)
class LocalBus:
    logical_id: str
    name: str
    arn: str


@dataclass(frozen=True)
class LocalRoute:
    """A rule's target that is one of the stack's queues: which bus's events go there, and the
    part of each event EventBridge delivers (``InputPath``; None for the whole event)."""

    rule_logical_id: str
    rule_name: str
    bus_logical_id: str
    queue_logical_id: str
    input_path: str | None


@dataclass
class LocalStack:
    queues: dict[str, LocalQueue] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    buses: dict[str, LocalBus] = field(default_factory=dict)
    routes: list[LocalRoute] = field(default_factory=list)

    @property
    def table(self) -> str:
        """The physical name of Rapport's one table."""
        return self.tables[LogicalId.TABLE]

    @property
    def events_queue(self) -> LocalQueue:
        return self.queues[LogicalId.EVENTS_QUEUE]

    @property
    def events_dead_letter_queue(self) -> LocalQueue:
        return self.queues[LogicalId.EVENTS_DEAD_LETTER_QUEUE]

    @property
    def digest_queue(self) -> LocalQueue:
        return self.queues[LogicalId.DIGEST_QUEUE]

    def route_to(self, queue_logical_id: str) -> LocalRoute:
        """The one rule target that delivers to the queue."""
        routes = [route for route in self.routes if route.queue_logical_id == queue_logical_id]
        if len(routes) != 1:
            raise KeyError(f"{len(routes)} rule targets deliver to {queue_logical_id}, not one")
        return routes[0]

    def function_for_queue(self, queue_logical_id: str) -> tuple[LocalFunction, QueueSource]:
        for function in self.functions.values():
            for source in function.sources:
                if source.queue_logical_id == queue_logical_id:
                    return function, source
        raise KeyError(f"no function consumes {queue_logical_id}")

    def dead_letter_queue(self, queue_logical_id: str) -> LocalQueue:
        dead_letter = self.queues[queue_logical_id].dead_letter_logical_id
        if dead_letter is None:
            raise KeyError(f"{queue_logical_id} has no dead-letter queue")
        return self.queues[dead_letter]

    def scheduled_functions(self) -> list[LocalFunction]:
        return [function for function in self.functions.values() if function.schedule_input]


def _queue_order(resources: Mapping[str, Any]) -> list[str]:
    """Dead-letter queues first, so the queues that redrive to them can reference their ARN."""
    queues = [name for name, spec in resources.items() if spec["Type"] == "AWS::SQS::Queue"]
    return sorted(queues, key=lambda name: "RedrivePolicy" in resources[name].get("Properties", {}))


def _attribute_value(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _create_queue(sqs: Any, logical_id: str, properties: Mapping[str, Any]) -> tuple[str, str]:
    attributes = {
        name: _attribute_value(value)
        for name, value in properties.items()
        if name not in ("QueueName", "Tags")
    }
    url = str(
        sqs.create_queue(QueueName=properties.get("QueueName", logical_id), Attributes=attributes)[
            "QueueUrl"
        ]
    )
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, str(arn)


def queue_sources(properties: Mapping[str, Any]) -> tuple[QueueSource, ...]:
    """A template function's SQS event sources (Lambda's default batch size is 10)."""
    return tuple(
        QueueSource(
            queue_logical_id=event["Properties"]["Queue"]["Fn::GetAtt"][0],
            batch_size=int(event["Properties"].get("BatchSize", 10)),
        )
        for event in properties.get("Events", {}).values()
        if event["Type"] == "SQS"
    )


def _function(logical_id: str, properties: Mapping[str, Any], env: dict[str, str]) -> LocalFunction:
    events = properties.get("Events", {}).values()
    sources = queue_sources(properties)
    schedules = [
        event["Properties"].get("Input", "{}") for event in events if event["Type"] == "ScheduleV2"
    ]
    return LocalFunction(
        logical_id=logical_id,
        code_dir=(TEMPLATE_PATH.parent / properties["CodeUri"]).resolve(),
        handler=properties["Handler"],
        environment=env,
        sources=sources,
        schedule_input=schedules[0] if schedules else None,
        async_retries=AsyncRetries.from_properties(properties),
    )


class _Builder:
    """Creates one resource type at a time, recording what ``Ref``/``GetAtt`` resolve to."""

    def __init__(self, session: Any, region: str, resolver: Resolver, stack: LocalStack) -> None:
        self.session, self.region, self.resolver, self.stack = session, region, resolver, stack

    def queues(self, resources: Mapping[str, Any]) -> None:
        sqs = self.session.client("sqs")
        for logical_id in _queue_order(resources):
            raw = resources[logical_id].get("Properties", {})
            properties = self.resolver.resolve(raw)
            url, arn = _create_queue(sqs, logical_id, properties)
            name = url.rsplit("/", 1)[1]
            self.resolver.resources[logical_id] = {"Ref": url, "Arn": arn, "QueueName": name}
            redrive = raw.get("RedrivePolicy", {})
            self.stack.queues[logical_id] = LocalQueue(
                logical_id=logical_id,
                url=url,
                arn=arn,
                visibility_timeout=int(properties.get("VisibilityTimeout", 30)),
                max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
                dead_letter_logical_id=(
                    redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] if redrive else None
                ),
            )

    def table(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        name = properties.get("TableName", logical_id)
        self.session.client("dynamodb").create_table(
            TableName=name,
            **{key: properties[key] for key in _TABLE_PROPERTIES if key in properties},
        )
        arn = f"arn:aws:dynamodb:{self.region}:{_ACCOUNT}:table/{name}"
        self.resolver.resources[logical_id] = {"Ref": name, "Arn": arn}
        self.stack.tables[logical_id] = name

    def secret(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        arn = self.session.client("secretsmanager").create_secret(
            Name=properties.get("Name", f"{self.resolver.stack_name}-{logical_id}"),
            SecretString=secrets.token_urlsafe(48),
        )["ARN"]
        self.resolver.resources[logical_id] = {"Ref": arn, "Id": arn}

    def configuration_set(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        name = properties.get("Name", logical_id)
        self.session.client("sesv2").create_configuration_set(ConfigurationSetName=name)
        self.resolver.resources[logical_id] = {"Ref": name}

    def bus(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        name = properties.get("Name", f"{self.resolver.stack_name}-{logical_id}")
        arn = self.session.client("events").create_event_bus(Name=name)["EventBusArn"]
        self.resolver.resources[logical_id] = {"Ref": name, "Arn": arn, "Name": name}
        self.stack.buses[logical_id] = LocalBus(logical_id, name, arn)

    def rule(self, logical_id: str, raw: Mapping[str, Any]) -> None:
        """A rule on one of the stack's buses, with its targets as the template gives them (only
        the properties moto takes are resolved: the policy-like ones hold conditions)."""
        properties = self.resolver.resolve(
            {
                key: raw[key]
                for key in ("Name", "EventBusName", "EventPattern", "State")
                if key in raw
            }
        )
        name = properties.get("Name", f"{self.resolver.stack_name}-{logical_id}")
        bus = properties.get("EventBusName", "default")
        events = self.session.client("events")
        arn = events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(properties["EventPattern"]),
            State=properties.get("State", "ENABLED"),
        )["RuleArn"]
        events.put_targets(
            Rule=name, EventBusName=bus, Targets=self.resolver.resolve(raw.get("Targets", []))
        )
        self.resolver.resources[logical_id] = {"Ref": name, "Arn": arn}
        bus_id = raw["EventBusName"]["Ref"]
        for target in raw.get("Targets", []):
            queue = target["Arn"].get("Fn::GetAtt", [None])[0]
            if queue in self.stack.queues:
                self.stack.routes.append(
                    LocalRoute(logical_id, name, bus_id, queue, target.get("InputPath"))
                )

    def function_url(self, logical_id: str) -> None:
        """A function URL's address: a placeholder, as nothing listens for it locally."""
        url = f"https://{logical_id.lower()}.lambda-url.{self.region}.localhost/"
        self.resolver.resources[f"{logical_id}Url"] = {"FunctionUrl": url}


def deploy(
    session: Any,
    region: str,
    environment_name: str = "local",
    template_path: Path = TEMPLATE_PATH,
) -> LocalStack:
    """Create the template's resources; return where they are and who consumes them."""
    template = load_template(template_path)
    resources: dict[str, Any] = template["Resources"]
    # Locally every record's log line is kept (DEBUG), so tests can check each one. One ingest
    # worker: moto answers in this process, so threads would overlap no latency, and a seeded
    # fault plan fails the same calls only if they come in one order (docs/reliability.md).
    parameters = parameter_defaults(template) | {
        "EnvironmentName": environment_name,
        "LogLevel": "DEBUG",
        "IngestWorkers": "1",
    }
    resolver = Resolver(
        parameters=parameters,
        region=region,
        stack_name=f"rapport-{environment_name}",
        conditions=template.get("Conditions", {}),
    )
    stack = LocalStack(parameters=parameters)
    builder = _Builder(session, region, resolver, stack)
    builder.queues(resources)
    creators: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
        "AWS::DynamoDB::Table": builder.table,
        "AWS::SecretsManager::Secret": builder.secret,
        "AWS::SES::ConfigurationSet": builder.configuration_set,
        "AWS::Events::EventBus": builder.bus,
    }
    for logical_id, spec in resources.items():
        if spec["Type"] in creators:
            creators[spec["Type"]](logical_id, resolver.resolve(spec.get("Properties", {})))
        elif (
            spec["Type"] == "AWS::Serverless::Function"
            and "FunctionUrlConfig" in spec["Properties"]
        ):
            builder.function_url(logical_id)
    for logical_id, spec in resources.items():  # once every bus exists
        if spec["Type"] == "AWS::Events::Rule":
            builder.rule(logical_id, spec["Properties"])
    if "SenderAddress" in parameters:
        session.client("sesv2").create_email_identity(EmailIdentity=parameters["SenderAddress"])

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
