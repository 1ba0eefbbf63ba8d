"""Report the size of each built Lambda artifact and refuse dev-only packages in any of them."""

from __future__ import annotations

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
        print(f"{artifact.name:<26} {_size(artifact) / 1_048_576:8.2f} MiB")
    for problem in problems:
        print(f"dev-only package in artifact {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/sam")))
