"""Translate ``infra/template.yaml`` into plain CloudFormation offline, as the SAM transform would.

One translation serves every reader of what deploys: checkov scans it (``make
security-translated``), the CDK construct includes it (``rapport_cdk``), and the tests compare the
two. It needs only ``aws-sam-translator`` and PyYAML, so it runs in the project's venv and in the
CDK venv alike.

    python infra/cdk/sam_translate.py --out build/translated/template.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import intrinsics_multi_constructor

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"

#: Where the placeholders of local code point (``sam package`` would upload there). Each key is the
#: SAM resource's logical id, which is also the name of its directory in ``sam build``'s output.
PLACEHOLDER_BUCKET = "rapport-artifacts"

_CODE_KEYS = ("CodeUri", "ContentUri")


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub...), read as the SAM CLI does."""


_Loader.add_multi_constructor("!", intrinsics_multi_constructor)


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return document


def local_code(template: Mapping[str, Any]) -> dict[str, str]:
    """SAM resources whose code is a local directory: logical id -> that directory."""
    return {
        name: properties[key]
        for name, resource in template["Resources"].items()
        for properties in [resource.get("Properties", {})]
        for key in _CODE_KEYS
        if isinstance(properties.get(key), str)
    }


def placeholder_key(logical_id: str) -> str:
    return f"{logical_id}.zip"


def packaged(template: Mapping[str, Any]) -> dict[str, Any]:
    """Local CodeUri/ContentUri become ``s3://`` placeholders, as ``sam package`` makes them."""
    result = copy.deepcopy(dict(template))
    for name in local_code(template):
        properties = result["Resources"][name]["Properties"]
        for key in _CODE_KEYS:
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://{PLACEHOLDER_BUCKET}/{placeholder_key(name)}"
    return result


class _NoManagedPolicies:
    """The template attaches no managed policies by name, so nothing is looked up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def _carry_checkov_skips(source: Mapping[str, Any], translated: dict[str, Any]) -> None:
    """A SAM resource's ``Metadata: checkov: skip`` also covers what SAM generates from it.

    SAM names each generated resource after the resource it comes from (``UnsubscribeFunction``
    -> ``UnsubscribeFunctionUrl``, ``UnsubscribeFunctionUrlPublicPermissions``...), and copies a
    function's Metadata onto the AWS::Lambda::Function only. The skip that justifies the function
    URL's ``AuthType: NONE`` is written on the SAM function that declares it; this carries it onto
    the generated URL, so checkov reads each justification from the one place it is written.
    """
    sam = {
        name: skips
        for name, resource in source["Resources"].items()
        if resource["Type"].startswith("AWS::Serverless::")
        and (skips := resource.get("Metadata", {}).get("checkov", {}).get("skip"))
    }
    for name, resource in translated["Resources"].items():
        if name in source["Resources"]:
            continue
        origins = [origin for origin in sam if name.startswith(origin)]
        if not origins:
            continue
        skips = sam[max(origins, key=len)]
        checkov = resource.setdefault("Metadata", {}).setdefault("checkov", {})
        present = {skip["id"] for skip in checkov.get("skip", [])}
        checkov["skip"] = [*checkov.get("skip", []), *(s for s in skips if s["id"] not in present)]


def translate(template: Mapping[str, Any]) -> dict[str, Any]:
    """The plain CloudFormation that the SAM transform makes of ``template``, offline."""
    # The translator asks boto3 for the partition of the current region; any region of the
    # commercial partition gives the same template.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result: dict[str, Any] = transform(packaged(template), {}, _NoManagedPolicies())
    _carry_checkov_skips(template, result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    args = parser.parse_args(argv)
    translated = translate(load(args.template))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(translated, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(translated['Resources'])} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
