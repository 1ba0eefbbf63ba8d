"""The lock files are what gets installed: every pin of a ``*.in`` file is in its lock at the same
version, every locked package carries hashes, and the interpreter running the suite has exactly
the lock's versions (so a fresh clone installs what CI tested)."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
LOCKS = [
    "shared/requirements",
    "requirements-dev",
    "requirements-sam",
    "requirements-checkov",
    "infra/cdk/requirements",
    "requirements-uv",
]
#: One locked requirement: ``name==version [; markers] \`` followed by its ``--hash`` lines.
_ENTRY = re.compile(
    r"^(?P<requirement>[^\s#-][^\\\n]*?)\s*\\\n(?P<hashes>(?:\s+--hash=\S+.*\n?)+)", re.M
)


def _locked(lock: str) -> list[tuple[Requirement, int]]:
    text = (ROOT / f"{lock}.txt").read_text(encoding="utf-8")
    return [
        (Requirement(match["requirement"]), match["hashes"].count("--hash=sha256:"))
        for match in _ENTRY.finditer(text)
    ]


def _pins(path: Path) -> dict[str, str]:
    """The ``name==version`` pins of an ``.in`` file, following its ``-r`` includes."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins |= _pins(path.parent / line.removeprefix("-r ").strip())
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path}: {line} is not pinned"
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _version(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    return specifier.version


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_and_hashed(lock: str) -> None:
    entries = _locked(lock)
    text = (ROOT / f"{lock}.txt").read_text(encoding="utf-8")
    requirement_lines = [
        line for line in text.splitlines() if line and not line.startswith((" ", "#"))
    ]
    assert len(entries) == len(requirement_lines) > 0  # no requirement without hashes
    for requirement, hashes in entries:
        assert hashes >= 1, requirement
        assert _version(requirement), requirement


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_of_the_input_is_locked_at_its_version(lock: str) -> None:
    locked: dict[str, str] = {
        canonicalize_name(req.name): _version(req) for req, _ in _locked(lock)
    }
    pins = _pins(ROOT / f"{lock}.in")
    assert pins
    assert {name: locked.get(name) for name in pins} == pins


#: The project itself (installed editable) and the pip a ``python -m venv`` seeds, which uv keeps.
_NOT_LOCKED = {"rapport", "pip"}


def test_the_running_interpreter_has_exactly_the_development_lock() -> None:
    """What `make install` (or `make test-313`) put in this venv is the lock, version by version."""
    expected = {
        canonicalize_name(req.name): _version(req)
        for req, _ in _locked("requirements-dev")
        if req.marker is None or req.marker.evaluate()
    }
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if canonicalize_name(dist.metadata["Name"]) not in _NOT_LOCKED
    }
    assert installed == expected, sys.executable


def test_the_package_depends_on_the_layer_and_the_cli_pins() -> None:
    """`pip install .` gets the Lambda runtime's pins and the CLI's, and nothing dev-only."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    files = pyproject["tool"]["setuptools"]["dynamic"]["dependencies"]["file"]
    assert files == ["shared/requirements.in", "cli/requirements.in"]
    runtime = _pins(ROOT / "shared/requirements.in") | _pins(ROOT / "cli/requirements.in")
    assert {"rich", "moto", "pyyaml", "pydantic", "boto3"} <= runtime.keys()
    assert not {"pytest", "hypothesis", "mypy", "ruff"} & runtime.keys()


def test_the_package_list_names_every_package_on_disk() -> None:
    """A package left out of pyproject's list is missing from the wheel (it was: rapport.ingest)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = pyproject["tool"]["setuptools"]["packages"]
    roots = pyproject["tool"]["setuptools"]["package-dir"]
    on_disk = {
        ".".join((name, *init.parent.relative_to(ROOT / root).parts))
        for name, root in roots.items()
        for init in (ROOT / root).rglob("__init__.py")
    }
    assert sorted(listed) == sorted(on_disk)
