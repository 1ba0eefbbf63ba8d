"""What `make security` (checkov) cannot see for itself: each skipped check is justified in the
template, and the unsubscribe signing key exists only in Secrets Manager — never as a parameter
default, an environment value or a literal in the code."""

from __future__ import annotations

import re
from typing import Any

from rapport_cli.local.template import LogicalId, load_template
from tests.reliability.corpus import ROOT
from tests.support.iam import translated_template

#: Checks skipped somewhere in the template; a new skip must be added here and documented.
KNOWN_SKIPS = {
    "CKV_AWS_26",
    "CKV_AWS_27",
    "CKV_AWS_115",
    "CKV_AWS_116",
    "CKV_AWS_117",
    "CKV_AWS_119",
    "CKV_AWS_149",
    "CKV_AWS_158",
    "CKV_AWS_173",
    "CKV_AWS_258",
}


def _skips() -> list[tuple[str, str, str]]:
    resources: dict[str, Any] = load_template()["Resources"]
    return [
        (name, skip.get("id", ""), skip.get("comment", ""))
        for name, spec in resources.items()
        for skip in spec.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def test_every_skipped_check_is_justified_in_the_template_and_in_the_docs() -> None:
    skips = _skips()
    assert skips
    for resource, check, comment in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", check), resource
        assert len(comment.split()) >= 12, f"{resource} {check}: say why in the comment"
    assert {check for _, check, _ in skips} == KNOWN_SKIPS
    reliability = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    for check in KNOWN_SKIPS:
        assert check in reliability, check


def test_the_public_function_url_is_the_unsubscribe_one_and_its_skip_reaches_it() -> None:
    """checkov scans the translated template too (`make security-translated`): the function URL
    exists only there, and its skip is written on the SAM function that declares it."""
    resources = translated_template()["Resources"]
    urls = {name: spec for name, spec in resources.items() if spec["Type"] == "AWS::Lambda::Url"}
    assert set(urls) == {"UnsubscribeFunctionUrl"}
    assert urls["UnsubscribeFunctionUrl"]["Properties"]["AuthType"] == "NONE"
    skips = {skip["id"] for skip in urls["UnsubscribeFunctionUrl"]["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_258" in skips
    declared = load_template()["Resources"][LogicalId.UNSUBSCRIBE]
    assert "CKV_AWS_258" in {skip["id"] for skip in declared["Metadata"]["checkov"]["skip"]}


def test_the_signing_key_is_generated_into_secrets_manager_and_referenced_by_id() -> None:
    template = load_template()
    secret = template["Resources"]["UnsubscribeSigningSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    for name, parameter in template["Parameters"].items():
        assert not re.search(r"secret|key|token|password", name, re.IGNORECASE), name
        assert parameter.get("NoEcho") is None, name
    for name in (LogicalId.SEND_DIGEST, LogicalId.UNSUBSCRIBE):
        env = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert env["UNSUBSCRIBE_SECRET_ID"] == {"Ref": "UnsubscribeSigningSecret"}
        assert not any(
            "KEY" in variable and variable != "UNSUBSCRIBE_SECRET_ID" for variable in env
        )


def test_no_code_holds_a_signing_key_or_credentials() -> None:
    literal_key = re.compile(
        r"""(signing_key|secret|hmac_key)\s*[:=]\s*b?["'][^"']{8,}["']""", re.IGNORECASE
    )
    aws_key = re.compile(r"AKIA[0-9A-Z]{16}")
    sources = [
        path
        for folder in ("shared", "functions", "cli", "infra")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".yaml", ".toml", ".json", ".j2"}
        # not build caches such as infra/.aws-sam, which hold third-party code
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    ]
    assert len(sources) > 30
    found = [
        str(path.relative_to(ROOT))
        for path in sources
        if literal_key.search(text := path.read_text(encoding="utf-8")) or aws_key.search(text)
    ]
    assert found == []
