"""The CDK app includes the one SAM template and redefines nothing.

Synthesised (offline, in infra/cdk's own venv), both the app's stack and a team's stack that
embeds the construct hold the translated template's resources — the same logical ids, types,
properties and policies — with only the code locations replaced by the assets of `make build`.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.corpus import ROOT
from tests.support.iam import translated_template

CDK_DIR = ROOT / "infra" / "cdk"
CDK_PYTHON = CDK_DIR / ".venv" / "bin" / "python"
ARTIFACTS = ROOT / "build" / "sam"

#: Resource types that grant or deny access; each must arrive exactly as SAM makes it.
POLICY_TYPES = {
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::Lambda::Permission",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Events::EventBusPolicy",
}

#: Where each resource type keeps its code.
CODE_PROPERTY = {"AWS::Lambda::Function": "Code", "AWS::Lambda::LayerVersion": "Content"}

_SYNTH = """
import sys
import app, example_embedding
app.main(sys.argv[1])
example_embedding.main(sys.argv[2])
"""


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not CDK_PYTHON.exists():
        pytest.fail("infra/cdk/.venv is missing: `make test` installs it (`make cdk-venv`)")
    if not ARTIFACTS.is_dir():
        pytest.fail("build/sam is missing: `make test` builds it first (`make build`)")
    app_out, team_out = (tmp_path_factory.mktemp(name) for name in ("app.out", "team.out"))
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "RAPPORT_ENVIRONMENT": "dev",
    }
    subprocess.run(
        [str(CDK_PYTHON), "-c", _SYNTH, str(app_out), str(team_out)],
        cwd=CDK_DIR,
        env=env,
        check=True,
        timeout=600,
    )
    return app_out, team_out


def _template(assembly: Path, stack: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((assembly / f"{stack}.template.json").read_text())
    return document


@pytest.fixture(scope="module")
def app_stack(assemblies: tuple[Path, Path]) -> dict[str, Any]:
    return _template(assemblies[0], "rapport-dev")


@pytest.fixture(scope="module")
def team_stack(assemblies: tuple[Path, Path]) -> dict[str, Any]:
    return _template(assemblies[1], "team-with-rapport")


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translated_template()


def _types(resources: dict[str, Any]) -> dict[str, str]:
    return {name: resource["Type"] for name, resource in resources.items()}


def _without_code(resource: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(resource)
    if key := CODE_PROPERTY.get(resource["Type"]):
        result["Properties"][key] = "<code>"
    return result


def test_the_app_stack_has_the_translated_templates_resources(
    app_stack: dict[str, Any], translated: dict[str, Any]
) -> None:
    assert _types(app_stack["Resources"]) == _types(translated["Resources"])
    assert set(app_stack["Outputs"]) == set(translated["Outputs"])


def test_the_app_fixes_the_environment_name_and_leaves_the_other_parameters(
    app_stack: dict[str, Any], translated: dict[str, Any]
) -> None:
    assert set(app_stack["Parameters"]) == (set(translated["Parameters"]) - {"EnvironmentName"}) | {
        "BootstrapVersion"  # the CDK bootstrap stack's version, checked by the CDK's Rules
    }
    for name, parameter in app_stack["Parameters"].items():
        if name != "BootstrapVersion":
            assert parameter == translated["Parameters"][name], name
    name = app_stack["Resources"]["ProcessEventsFunction"]["Properties"]["FunctionName"]
    assert name in ("rapport-dev-process-events", {"Fn::Sub": "rapport-dev-process-events"})
    assert "EnvironmentName" not in json.dumps(app_stack["Resources"])


def test_an_embedding_stack_gets_every_resource_and_policy_unchanged_but_its_code(
    team_stack: dict[str, Any], translated: dict[str, Any]
) -> None:
    resources = team_stack["Resources"]
    own = set(resources) - set(translated["Resources"])
    assert {resources[name]["Type"] for name in own} == {"AWS::IAM::Role", "AWS::IAM::Policy"}
    policies = 0
    for name, resource in translated["Resources"].items():
        assert _without_code(resources[name]) == _without_code(resource), name
        if resource["Type"] in POLICY_TYPES:
            assert resources[name] == resource, name
            policies += 1
    assert policies >= 6  # four function roles, the scheduler's role, the URL's permissions
    assert team_stack["Outputs"] == translated["Outputs"]
    assert team_stack["Parameters"].keys() - {"BootstrapVersion"} == translated["Parameters"].keys()
    assert team_stack["Conditions"] == translated["Conditions"]


def test_the_team_reaches_an_included_resource_by_its_logical_id(
    team_stack: dict[str, Any], translated: dict[str, Any]
) -> None:
    own_policies = [
        resource
        for name, resource in team_stack["Resources"].items()
        if name not in translated["Resources"] and resource["Type"] == "AWS::IAM::Policy"
    ]
    [statement] = own_policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}


def test_each_function_and_the_layer_deploy_the_directory_sam_build_made(
    assemblies: tuple[Path, Path], app_stack: dict[str, Any], translated: dict[str, Any]
) -> None:
    manifest = json.loads((assemblies[0] / "rapport-dev.assets.json").read_text())
    coded = {
        name: resource
        for name, resource in translated["Resources"].items()
        if resource["Type"] in CODE_PROPERTY
    }
    assert len(coded) == 5  # four functions and the shared layer
    for name, resource in coded.items():
        key = CODE_PROPERTY[resource["Type"]]
        location = app_stack["Resources"][name]["Properties"][key]
        assert location["S3Bucket"] == {
            "Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
        }
        asset = manifest["files"][location["S3Key"].removesuffix(".zip")]
        assert asset["source"]["packaging"] == "zip"
        # sam_translate's placeholder is named after the SAM resource, as is its build directory.
        sam_resource = resource["Properties"][key]["S3Key"].removesuffix(".zip")
        staged, built = assemblies[0] / asset["source"]["path"], ARTIFACTS / sam_resource
        assert _files(staged) == _files(built), name


def _files(directory: Path) -> dict[str, int]:
    return {
        str(path.relative_to(directory)): path.stat().st_size
        for path in directory.rglob("*")
        if path.is_file()
    }
