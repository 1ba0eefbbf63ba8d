"""Report the size of each built Lambda artifact, refuse dev-only packages in any of them, and
refuse a layer whose packages are not exactly the lock's (``shared/requirements.txt``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: Packages that belong to tests, tools or the local runtime, never to a Lambda artifact.
DEV_ONLY = {
    "moto",
    "pytest",
    "_pytest",
    "hypothesis",
    "rich",
    "mypy",
    "ruff",
    "cfnlint",
    "samtranslator",
    "selenium",
    "yaml",
    "rapport_cli",
    "cloudevents",
    "jsonschema",
    "xdist",
    # Training the reason reader: the Lambda reads the exported model with the stdlib.
    "sklearn",
    "scipy",
    "numpy",
    "joblib",
    "threadpoolctl",
    "training",
}


LAYER = "SharedLayer"
LAYER_LOCK = Path(__file__).resolve().parents[1] / "shared" / "requirements.txt"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> set[str]:
    """``name==version`` of every package the layer's lock pins."""
    text = LAYER_LOCK.read_text(encoding="utf-8")
    return {
        f"{_normalized(name)}=={version}"
        for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)
    }


def _installed(layer: Path) -> set[str]:
    """``name==version`` of every distribution ``sam build`` put in the layer."""
    found = set()
    for info in (layer / "python").glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found.add(f"{_normalized(name)}=={version}")
    return found


def _size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def main(build_dir: Path) -> int:
    artifacts = sorted(path for path in build_dir.iterdir() if path.is_dir())
    if not artifacts:
        print(f"no artifacts in {build_dir}: run `make build` first", file=sys.stderr)
        return 1
    problems = []
    for artifact in artifacts:
        packages = {item.name.split("-")[0] for item in artifact.rglob("*") if item.is_dir()}
        if leaked := sorted(packages & DEV_ONLY):
            problems.append(f"{artifact.name}: {', '.join(leaked)}")
        if artifact.name == LAYER and (differ := _installed(artifact) ^ _locked()):
            problems.append(f"{artifact.name} differs from {LAYER_LOCK.name}: {sorted(differ)}")
        print(f"{artifact.name:<26} {_size(artifact) / 1_048_576:8.2f} MiB")
    for problem in problems:
        print(f"artifact problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/sam")))
