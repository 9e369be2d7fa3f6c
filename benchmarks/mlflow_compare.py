"""MLflow's model registry server under the request-cost workload, for side-by-side figures with cost_bench.py.

Run from the project root, with MLflow installed in a virtualenv of its own (it pins its own dependencies)::

    python3 -m venv /tmp/mlflow-venv && /tmp/mlflow-venv/bin/pip install mlflow==3.17.2
    .venv/bin/python benchmarks/mlflow_compare.py --mlflow /tmp/mlflow-venv/bin/mlflow

Starts ``mlflow server`` as its documentation shows it (SQLite backend store, the default 4 uvicorn workers) on a
free loopback port, registers the same shape of registry as benchmarks/seed.py through MLflow's REST API (``--models``
models x 10 versions, 5 tags on each version, 2 on each model; MLflow keeps metrics on runs, so versions carry
none), then measures each operation of benchmarks/cost_ops.py as the MLflow REST calls that do the same job: server
CPU (utime + stime of the server's whole process tree) per operation over ``--requests`` sequential requests on one
keep-alive connection, and get-model requests per second at concurrency 8. Prints one JSON line per operation and
one for the throughput. Exits 1 if a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cost_bench import ab_throughput, httpx_throughput, tree_cpu_seconds  # noqa: E402
from benchmarks.seed import DATASETS, FRAMEWORKS, REGIONS, TEAMS, TRIGGERS, model_name  # noqa: E402
from tests.support.live_server import free_port  # noqa: E402

API = "/api/2.0/mlflow"
# (method, path, params or body) for one request of an operation, from (rng, model names).
Call = Callable[[random.Random, list[str]], tuple[str, str, dict[str, Any]]]


def _version_tags(rng: random.Random) -> list[dict[str, str]]:
    return [{"key": "team", "value": rng.choice(TEAMS)}, {"key": "framework", "value": rng.choice(FRAMEWORKS)},
            {"key": "dataset", "value": rng.choice(DATASETS)}, {"key": "region", "value": rng.choice(REGIONS)},
            {"key": "trigger", "value": rng.choice(TRIGGERS)}]


# The same jobs as benchmarks/cost_ops.py, as an MLflow client does them. The catalogue page is two calls in MLflow
# (a page of models, then the versions of its models' latest versions are not needed: search_registered_models
# returns latest_versions per stage; their metrics live on runs and would be a third call per run).
OPERATIONS: dict[str, list[Call]] = {
    "get_model": [lambda rng, names: ("GET", "/registered-models/get", {"name": rng.choice(names)})],
    "model_versions": [lambda rng, names: ("GET", "/model-versions/search",
                                           {"filter": f"name='{rng.choice(names)}'", "max_results": 20})],
    "versions_by_tag": [lambda rng, names: ("GET", "/model-versions/search",
                                            {"filter": f"tags.team='{rng.choice(TEAMS)}'", "max_results": 20})],
    "set_version_tag": [lambda rng, names: ("POST", "/model-versions/set-tag",
                                            {"name": rng.choice(names), "version": str(rng.randint(1, 10)),
                                             "key": "reviewed", "value": str(rng.randrange(10**6))})],
    "create_version": [lambda rng, names: ("POST", "/model-versions/create",
                                           {"name": rng.choice(names), "source": "s3://models-example/bench",
                                            "run_id": f"{rng.getrandbits(128):032x}", "tags": _version_tags(rng),
                                            "description": "benchmark retrain"})],
    "models_page": [lambda rng, names: ("GET", "/registered-models/search", {"max_results": 100})],
    "catalogue_page": [lambda rng, names: ("GET", "/registered-models/search", {"max_results": 100}),
                       lambda rng, names: ("GET", "/model-versions/search",
                                           {"filter": "name LIKE '%'", "max_results": 100})],
}


def send(http: httpx.Client, call: tuple[str, str, dict[str, Any]]) -> str | None:
    method, path, payload = call
    if method == "GET":
        response = http.get(API + path, params=payload)
    else:
        response = http.post(API + path, json=payload)
    return None if response.status_code == 200 else f"{path}: HTTP {response.status_code} {response.text[:200]}"


def seed_mlflow(base_url: str, models: int, rng: random.Random, headers: dict[str, str] | None = None) -> list[str]:
    """Register ``models`` models x 10 versions through the REST API, 8 requests at a time."""
    names = [model_name(index) for index in range(models)]

    async def register(name: str, http: httpx.AsyncClient) -> None:
        tags = [{"key": "team", "value": rng.choice(TEAMS)}, {"key": "domain", "value": name.split("-")[0]}]
        (await http.post(API + "/registered-models/create", json={"name": name, "tags": tags})).raise_for_status()
        for _ in range(10):
            body = {"name": name, "source": f"s3://models-example/{name}", "tags": _version_tags(rng)}
            (await http.post(API + "/model-versions/create", json=body)).raise_for_status()

    async def run() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=headers) as http:
            for start in range(0, len(names), 8):
                await asyncio.gather(*(register(name, http) for name in names[start:start + 8]))

    asyncio.run(run())
    return names


async def throughput(
    base_url: str, names: list[str], concurrency: int, seconds: float, headers: dict[str, str] | None = None
) -> tuple[float, int]:
    """Get-registered-model requests per second with ``concurrency`` clients back to back, and the failures."""
    rng = random.Random(7)

    async def get_model(http: httpx.AsyncClient) -> bool:
        response = await http.get(API + "/registered-models/get", params={"name": rng.choice(names)})
        return response.status_code == 200

    return await httpx_throughput(base_url, headers or {}, concurrency, seconds, get_model)


def measure_operations(
    base_url: str, server_pid: int, names: list[str], requests: int, headers: dict[str, str] | None = None
) -> dict[str, tuple[float, list[str]]]:
    """Server CPU milliseconds per operation of OPERATIONS (after a tenth as many warm-up requests), and the
    errors, over ``requests`` sequential requests on one keep-alive connection."""
    rng = random.Random(42)
    measured: dict[str, tuple[float, list[str]]] = {}
    with httpx.Client(base_url=base_url, timeout=60, headers=headers) as http:
        for operation, calls in OPERATIONS.items():
            errors: list[str] = []
            for index in range(requests // 10 + requests):
                if index == requests // 10:
                    started = tree_cpu_seconds(server_pid)
                for call in calls:
                    if problem := send(http, call(rng, names)):
                        errors.append(problem)
            measured[operation] = ((tree_cpu_seconds(server_pid) - started) * 1000 / requests, errors)
    return measured


@contextmanager
def mlflow_server(mlflow: str, work: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``mlflow server`` as its documentation shows it (SQLite store, its default 4 workers) on a free loopback port,
    healthy: (base URL, process). Stopped, its process group included, on leaving."""
    port = free_port()
    log = open(work / "server.log", "wb")
    server = subprocess.Popen(
        [mlflow, "server", "--backend-store-uri", f"sqlite:///{work}/mlflow.db", "--host", "127.0.0.1",
         "--port", str(port), "--default-artifact-root", str(work / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base_url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError((work / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        yield base_url, server
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlflow", default=shutil.which("mlflow") or "mlflow", help="the mlflow command")
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mlflow-bench-"))
    failed = 0
    try:
        with mlflow_server(args.mlflow, work) as (base_url, server):
            print(f"registering {args.models} models in MLflow...", file=sys.stderr, flush=True)
            names = seed_mlflow(base_url, args.models, random.Random(42))
            for operation, (cpu_ms, errors) in measure_operations(base_url, server.pid, names, args.requests).items():
                failed += len(errors)
                for sample in errors[:3]:
                    print(f"error sample: {sample}", file=sys.stderr)
                print(json.dumps({"operation": operation, "server": "mlflow", "models": args.models,
                                  "calls": len(OPERATIONS[operation]), "cpu_ms_per_op": round(cpu_ms, 2),
                                  "requests": args.requests, "errors": len(errors)}), flush=True)
            url = f"{base_url}{API}/registered-models/get?name={names[len(names) // 2]}"
            for client, measured in (("httpx", asyncio.run(throughput(base_url, names, 8, args.seconds))),
                                     ("ab", ab_throughput(url, 8, args.seconds, {}))):
                if measured is None:
                    continue
                rate, errors = measured
                failed += errors
                print(json.dumps({"throughput": "get_model", "server": "mlflow", "workers": "default (4)",
                                  "concurrency": 8, "client": client, "requests_per_s": round(rate, 1),
                                  "errors": errors}), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
