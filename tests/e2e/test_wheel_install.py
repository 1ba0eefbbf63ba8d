"""`pip install .` as a new user runs it: the project's sdist and wheel, built from the files the
package declares, installed into a fresh venv with nothing but their declared dependencies, give a
`rapport` that works.

uv builds (offline, with the venv's setuptools, the project's build backend) and installs, held
to the development lock's versions, so it reads the cache `make install` filled and the registry
only for what the cache lacks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from uv import find_uv_bin

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: What the build reads: the project file, the README it names and the two package trees.
SOURCES = ["pyproject.toml", "README.md", "shared", "cli"]


def _run(*command: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,  # the assertion below shows stderr
    )
    assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    uv = find_uv_bin()
    # The sdist first, then the wheel from the sdist: a file the sdist leaves out fails here.
    _run(uv, "build", "--quiet", "--offline", "--no-build-isolation", "--python", sys.executable,
         "--out-dir", work / "dist", source)  # fmt: skip
    (wheel,) = (work / "dist").glob("rapport-*.whl")
    constraints = work / "constraints.txt"
    # Each locked line, markers included (a universal lock pins some packages per Python).
    lock = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    constraints.write_text("\n".join(re.findall(r"^([^\s#][^\\\n]*?) \\$", lock, re.M)) + "\n")
    environment = work / "venv"
    _run(uv, "venv", "--quiet", "--python", sys.executable, environment)
    _run(uv, "pip", "install", "--quiet", "--python", environment / "bin" / "python",
         "--constraint", constraints, wheel)  # fmt: skip
    return environment


def test_the_installed_command_shows_its_help(venv: Path) -> None:
    result = _run(venv / "bin" / "rapport", "--help")
    assert "Learn from the outcomes of your networking connection requests." in result.stdout
    assert _run(venv / "bin" / "rapport", "run", "--help").stdout.startswith("usage: rapport run")


def test_the_installed_command_classifies_a_note(venv: Path) -> None:
    note = "I only connect with people I have met in person or virtually."
    line = json.dumps({"note": note, "request": None, "outcome": "declined"})
    result = _run(venv / "bin" / "rapport", "classify", stdin=line + "\n")
    (answer,) = result.stdout.splitlines()
    assert json.loads(answer)["primary_reason"] == "met_only"


def test_the_installed_package_has_its_data_and_no_development_tools(venv: Path) -> None:
    probe = (
        "import importlib.util, json, rapport.reasons, pathlib;"
        "package = pathlib.Path(rapport.reasons.__file__).parent;"
        "print(json.dumps({'data': sorted(p.name for p in package.iterdir() if p.suffix in"
        " ('.toml', '.bin')), 'dev': [m for m in ('pytest', 'hypothesis', 'mypy', 'sklearn')"
        " if importlib.util.find_spec(m)]}))"
    )
    found = json.loads(_run(venv / "bin" / "python", "-c", probe).stdout)
    assert "reader.bin" in found["data"]
    assert found["dev"] == []
