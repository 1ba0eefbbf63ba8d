"""Events per second through ``rapport run``, digest phase included, on a stream of 6,316 lines.

The stream comes from the project's generator (150 members over 4 weeks, fixed seed, 10% of
events delivered twice and 10% displaced) and goes through ``rapport_cli.local.runner.run`` with
``now`` the evening after it ends, so every phase runs: deploying the template, publishing and
draining the events queue through ``process_events``, the scheduler and the digest workers, and
the export. Each phase is timed from the runner's progress callbacks, in wall time and in the
process's CPU time: moto runs in this process, so CPU time is the run's own work and does not
move with other load on the machine the way wall time does.

Run on its own: ``.venv/bin/python -m bench.local_run [MEMBERS]`` (prints JSON).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import generate_stream
from rapport_cli.local.runner import Progress, run

#: 6,316 lines (5,717 distinct events); 150 members get a digest schedule.
STREAM = {"members": 150, "weeks": 4, "seed": 7, "duplicates": 0.1, "reorder": 0.1}
#: The stream covers 5 October to 1 November 2026; digests run the next evening.
NOW = datetime(2026, 11, 2, 18, tzinfo=UTC)


@dataclass
class _Phases:
    """Wall and CPU time spent in each phase the runner announces (the first is deploying)."""

    current: str = "deploy"
    started: tuple[float, float] = field(
        default_factory=lambda: (time.perf_counter(), time.process_time())
    )
    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def enter(self, name: str, _counted: bool = False) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[self.current] = wall - self.started[0]
        self.cpu[self.current] = cpu - self.started[1]
        self.current, self.started = name, (wall, cpu)


def measure(work: Path, members: int = int(STREAM["members"])) -> dict[str, Any]:
    stream = generate_stream(work / "local_run.jsonl", **{**STREAM, "members": members})  # type: ignore[arg-type]
    phases = _Phases()
    with tempfile.TemporaryDirectory(prefix="rapport-bench-run-") as out:
        report = run([stream.path], Path(out), now=NOW, progress=Progress(phase=phases.enter))
        phases.enter("end")
    received = report.summary.received
    wall, cpu = sum(phases.wall.values()), sum(phases.cpu.values())
    return {
        "stream": {"members": members, "lines": stream.lines, "events": stream.events},
        "summary": report.summary.as_dict(),
        "seconds": wall,
        "cpu_seconds": cpu,
        "events_per_second": received / wall,
        "events_per_cpu_second": received / cpu,
        "phases_seconds": phases.wall,
        "phases_cpu_seconds": phases.cpu,
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as directory:
        print(json.dumps(measure(Path(directory), *map(int, sys.argv[1:2])), indent=2))
