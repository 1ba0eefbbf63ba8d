"""Compare the AWS calls a function's code makes with what its IAM role grants the code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.cdk.sam_translate import translate
from rapport_cli.local.template import load_template

#: API operations authorised by another action's name.
_ACTION_FOR_OPERATION = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def translated_template() -> dict[str, Any]:
    """The template as it deploys: translated offline, as checkov scans it and CDK includes it."""
    return translate(load_template())


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: Mapping[str, Any], function: str) -> list[dict[str, Any]]:
    """Every statement of the role the function runs as."""
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template["Resources"][role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def code_actions(template: Mapping[str, Any], function: str) -> set[str]:
    """What the role grants the function's code (statements whose Sid starts with ``Code``)."""
    return {
        action
        for statement in statements(template, function)
        if statement.get("Sid", "").startswith("Code")
        for action in _as_list(statement["Action"])
    }


def actions_for(calls: Iterable[str]) -> set[str]:
    return {_ACTION_FOR_OPERATION.get(call, call) for call in calls}


@dataclass(frozen=True)
class PolicyDrift:
    called_not_granted: set[str]
    granted_not_called: set[str]

    @property
    def exact(self) -> bool:
        return not self.called_not_granted and not self.granted_not_called


def drift(granted: set[str], calls: Iterable[str]) -> PolicyDrift:
    used = actions_for(calls)
    return PolicyDrift(called_not_granted=used - granted, granted_not_called=granted - used)
