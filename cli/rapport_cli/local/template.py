"""Read ``infra/template.yaml`` and resolve the intrinsic functions local resources need.

The template is the single definition of queues, tables and functions; the local runtime builds
from it instead of keeping a second copy of names and settings in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub...) as their long forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return document


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt and Fn::Sub against parameters and already-created resources."""

    parameters: dict[str, str]
    region: str
    stack_name: str
    #: logical id -> {"Ref": physical id, "<Attr>": value}
    resources: dict[str, dict[str, str]] = field(default_factory=dict)

    def _pseudo(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]["Ref"]
        raise KeyError(f"cannot resolve Ref {name!r} locally")

    def _attribute(self, logical_id: str, attribute: str) -> str:
        try:
            return self.resources[logical_id][attribute]
        except KeyError:
            raise KeyError(f"cannot resolve {logical_id}.{attribute} locally") from None

    def _sub(self, template: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._attribute(logical_id, attribute)
            return self._pseudo(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, template)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, Mapping):
            handlers: dict[str, Callable[[Any], Any]] = {
                "Ref": self._pseudo,
                "Fn::GetAtt": lambda value: self._attribute(value[0], value[1]),
                "Fn::Sub": lambda value: self._sub(value if isinstance(value, str) else value[0]),
            }
            if len(node) == 1:
                ((name, value),) = node.items()
                if name in handlers:
                    return handlers[name](value)
            return {key: self.resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        return node


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
