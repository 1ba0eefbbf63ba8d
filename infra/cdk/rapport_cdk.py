"""Rapport as a CDK construct: the one SAM template (``infra/template.yaml``), nothing redefined.

The template is translated offline (``sam_translate``, the same translation checkov scans) and
included with ``cloudformation_include.CfnInclude``, keeping every logical id. Each function's and
the layer's code is the directory ``sam build`` made for it (``make build``), published as a CDK
asset. Embed it in your own app::

    from rapport_cdk import RapportConstruct

    rapport = RapportConstruct(stack, "Rapport", parameters={"EnvironmentName": "prod"})
    queue_url = rapport.template.get_output("EventsQueueUrl").value

Logical ids are kept as they are in the template, so one stack holds at most one Rapport.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda, aws_s3_assets
from aws_cdk import cloudformation_include as cfn_include
from constructs import Construct

import sam_translate

#: Where ``make build`` (``sam build``) puts one directory per function and layer.
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "build" / "sam"


class RapportConstruct(Construct):
    """Every resource of ``infra/template.yaml``, as the SAM transform makes it.

    ``parameters`` fixes template parameters at synthesis (e.g. ``EnvironmentName``); the others
    stay CloudFormation parameters of the stack, set with ``cdk deploy --parameters``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameters: Mapping[str, str] | None = None,
        template_path: Path = sam_translate.TEMPLATE_PATH,
        artifacts_dir: Path = ARTIFACTS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        source = sam_translate.load(template_path)
        translated = sam_translate.translate(source)
        code = {name: _artifact(artifacts_dir, name) for name in sam_translate.local_code(source)}
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "template.json"
            path.write_text(json.dumps(translated), encoding="utf-8")
            # CfnInclude reads the file here, in its constructor.
            self.template = cfn_include.CfnInclude(
                self, "Template", template_file=str(path), parameters=dict(parameters or {})
            )
        assets = {
            name: aws_s3_assets.Asset(self, f"{name}Code", path=str(directory))
            for name, directory in code.items()
        }
        for logical_id, resource in translated["Resources"].items():
            _point_at_asset(self.template.get_resource(logical_id), resource, assets)

    def resource(self, logical_id: str) -> cdk.CfnResource:
        """The included resource with this logical id (the translated template's, e.g.
        ``EventsQueue``, ``UnsubscribeFunctionUrl``), to read attributes or override properties."""
        return self.template.get_resource(logical_id)


class RapportStack(cdk.Stack):
    """A stack that holds one Rapport and nothing else, like ``sam deploy``'s stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameters: Mapping[str, str] | None = None,
        artifacts_dir: Path = ARTIFACTS_DIR,
        **stack_props: Any,
    ) -> None:
        super().__init__(scope, construct_id, **stack_props)
        self.rapport = RapportConstruct(
            self, "Rapport", parameters=parameters, artifacts_dir=artifacts_dir
        )


#: CDK's synth-time validation warns that the layer has SAM's ``DeletionPolicy: Retain`` without
#: an ``UpdateReplacePolicy``.
_LAYER_REPLACEMENT = cdk.Acknowledgment(
    id="CloudFormation-Validate::W3011",
    reason=(
        "The layer keeps one logical id here, so new content replaces it: the functions move to"
        " the new version in the same update, and CloudFormation deletes the old one only after"
        " the update succeeded, when nothing uses it any more."
    ),
)


def _artifact(artifacts_dir: Path, logical_id: str) -> Path:
    directory = artifacts_dir / logical_id
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{directory} is missing: run `make build` (sam build) before synthesising"
        )
    return directory


def _point_at_asset(
    included: cdk.CfnResource,
    resource: Mapping[str, Any],
    assets: Mapping[str, aws_s3_assets.Asset],
) -> None:
    """Replace a code placeholder of ``sam_translate`` with the asset of the same SAM resource."""
    properties = resource.get("Properties", {})
    if isinstance(included, aws_lambda.CfnFunction):
        asset = _asset_for(properties["Code"], assets)
        included.code = aws_lambda.CfnFunction.CodeProperty(
            s3_bucket=asset.s3_bucket_name, s3_key=asset.s3_object_key
        )
    elif isinstance(included, aws_lambda.CfnLayerVersion):
        asset = _asset_for(properties["Content"], assets)
        included.content = aws_lambda.CfnLayerVersion.ContentProperty(
            s3_bucket=asset.s3_bucket_name, s3_key=asset.s3_object_key
        )
        cdk.Validations.of(included).acknowledge(_LAYER_REPLACEMENT)


def _asset_for(
    location: Mapping[str, Any], assets: Mapping[str, aws_s3_assets.Asset]
) -> aws_s3_assets.Asset:
    if location.get("S3Bucket") != sam_translate.PLACEHOLDER_BUCKET:
        raise ValueError(f"code outside the template's local directories: {location}")
    for name, asset in assets.items():
        if location["S3Key"] == sam_translate.placeholder_key(name):
            return asset
    raise ValueError(f"no built artifact for {location['S3Key']}")
