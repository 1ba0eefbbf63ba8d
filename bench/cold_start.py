"""cold_start_ratio: per function, the median over fresh interpreters of importing the handler
module and creating its clients, over the median of ``import boto3`` plus one client.

Each sample is a new ``python -c`` process that times itself with ``time.perf_counter`` from its
first statement, so interpreter start-up (the same for both) is left out. Baseline and functions
take turns round by round, so a burst of load on the machine hits all of them alike. Every child
reads compiled bytecode from one private cache (warmed first), as a deployed package ships it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from bench.common import FUNCTION_CLIENTS, ROOT, function_environment, median

SAMPLES = 10

BASELINE = """
import time
started = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - started)
"""

HANDLER = """
import time
started = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from rapport.adapters.aws import client
for service in {clients!r}:
    client(service)
elapsed = time.perf_counter() - started
started = time.perf_counter()
for name in {deferred!r}:
    __import__(name)
print(elapsed, time.perf_counter() - started)
"""

#: What each handler imports on its first invocation instead of at import time (measured after
#: the cold start, in the same child, so the deferred cost is reported too).
DEFERRED = {
    "process_events": (
        "rapport.settings",
        "rapport.ingest",
        "rapport.adapters.dynamodb.event_store",
    ),
    "schedule_digests": (
        "rapport.settings",
        "rapport.adapters.dynamodb.digest_store",
        "rapport.adapters.sqs_jobs",
    ),
    "send_digest": (
        "rapport.settings",
        "rapport.adapters.dynamodb.digest_store",
        "rapport.digest.delivery",
    ),
    "unsubscribe": (
        "rapport.settings",
        "rapport.adapters.dynamodb.digest_store",
        "rapport.digest.unsubscribe",
    ),
}


def _sample(code: str, env: dict[str, str]) -> list[float]:
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-2000:])
    return [float(value) for value in completed.stdout.split()]


def measure(samples: int = SAMPLES) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rapport-bench-pyc-") as cache:
        base_env = {
            key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"
        }
        base_env |= {
            "PYTHONPYCACHEPREFIX": cache,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
        }
        codes = {"boto3 + 1 client": (BASELINE, base_env)}
        for name, clients in FUNCTION_CLIENTS.items():
            path = str(ROOT / "functions" / name / "app.py")
            code = HANDLER.format(path=path, clients=clients, deferred=DEFERRED[name])
            codes[name] = (code, base_env | function_environment(name))
        for code, env in codes.values():  # warm the bytecode cache; not measured
            _sample(code, env)
        times: dict[str, list[list[float]]] = {name: [] for name in codes}
        for _ in range(samples):
            for name, (code, env) in codes.items():
                times[name].append(_sample(code, env))
    baseline = median([sample[0] for sample in times.pop("boto3 + 1 client")])
    functions = {}
    for name, samples_of in times.items():
        cold = median([sample[0] for sample in samples_of])
        functions[name] = {
            "ratio": cold / baseline,
            "median_ms": cold * 1000,
            "clients": list(FUNCTION_CLIENTS[name]),
            "deferred_to_first_invocation_ms": median([s[1] for s in samples_of]) * 1000,
        }
    return {"baseline_median_ms": baseline * 1000, "samples": samples, "functions": functions}


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES)))
