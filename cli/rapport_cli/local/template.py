"""Read ``infra/template.yaml`` and resolve the intrinsic functions local resources need.

The template is the single definition of queues, tables and functions; the local runtime builds
from it instead of keeping a second copy of names and settings in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"


class LogicalId(StrEnum):
    """The template's resources the local runtime, the bench and the tests address by name.

    Named once here; ``tests/unit/infra/test_template.py`` checks that each is in the template.
    """

    TABLE = "RapportTable"
    EVENTS_QUEUE = "EventsQueue"
    EVENTS_DEAD_LETTER_QUEUE = "EventsDeadLetterQueue"
    DIGEST_QUEUE = "DigestJobsQueue"
    PROCESS_EVENTS = "ProcessEventsFunction"
    SCHEDULE_DIGESTS = "ScheduleDigestsFunction"
    SEND_DIGEST = "SendDigestFunction"
    UNSUBSCRIBE = "UnsubscribeFunction"


class UnresolvableIntrinsic(ValueError):
    """The template uses an intrinsic function (or a name) the local runtime cannot evaluate."""


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template with its short tags (``!Ref``, ``!GetAtt``…) in their long forms, read by
    the SAM translator's own loader, so the local runtime reads what ``sam`` reads."""
    document = yaml_parse(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return document


#: ``Ref: AWS::NoValue``: the property it stands for is left out.
_NO_VALUE = object()


@dataclass
class Resolver:
    """Evaluates the intrinsic functions of the template against its parameters, conditions and
    the resources already created; any other intrinsic is an error, never passed through."""

    parameters: dict[str, str]
    region: str
    stack_name: str
    #: The template's ``Conditions`` section (name -> condition function).
    conditions: Mapping[str, Any] = field(default_factory=dict)
    #: logical id -> {"Ref": physical id, "<Attr>": value}
    resources: dict[str, dict[str, str]] = field(default_factory=dict)

    def _pseudo(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]["Ref"]
        raise UnresolvableIntrinsic(f"cannot resolve Ref {name!r} locally")

    def _attribute(self, logical_id: str, attribute: str) -> str:
        try:
            return self.resources[logical_id][attribute]
        except KeyError:
            raise UnresolvableIntrinsic(
                f"cannot resolve {logical_id}.{attribute} locally"
            ) from None

    def _sub(self, value: Any) -> str:
        template, variables = (value, {}) if isinstance(value, str) else value
        values = {name: str(self.resolve(item)) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._attribute(logical_id, attribute)
            return str(self._pseudo(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, template)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise UnresolvableIntrinsic(f"no condition {name!r} in the template")
        return bool(self.resolve(self.conditions[name]))

    def _if(self, value: list[Any]) -> Any:
        name, when_true, when_false = value
        return self.resolve(when_true if self.condition(name) else when_false)

    def _select(self, value: list[Any]) -> Any:
        index, items = (self.resolve(part) for part in value)
        return items[int(index)]

    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        resolve = self.resolve
        return {
            "Ref": self._pseudo,
            "Fn::GetAtt": lambda value: self._attribute(value[0], value[1]),
            "Fn::Sub": self._sub,
            "Fn::If": self._if,
            "Fn::Equals": lambda value: str(resolve(value[0])) == str(resolve(value[1])),
            "Fn::Not": lambda value: not resolve(value[0]),
            "Fn::And": lambda value: all(resolve(item) for item in value),
            "Fn::Or": lambda value: any(resolve(item) for item in value),
            "Condition": self.condition,
            "Fn::Join": lambda value: str(value[0]).join(str(item) for item in resolve(value[1])),
            "Fn::Split": lambda value: str(resolve(value[1])).split(value[0]),
            "Fn::Select": self._select,
        }

    def resolve(self, node: Any) -> Any:
        if isinstance(node, Mapping):
            if len(node) == 1:
                ((name, value),) = node.items()
                intrinsics = self._intrinsics()
                if name in intrinsics:
                    return intrinsics[name](value)
                if name.startswith("Fn::"):
                    raise UnresolvableIntrinsic(f"{name} is not evaluated by the local runtime")
            resolved = {key: self.resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value is not _NO_VALUE}
        if isinstance(node, list):
            return [item for item in map(self.resolve, node) if item is not _NO_VALUE]
        return node


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
