"""One MLflow REST workload against MLflow's own server and against modelreg's MLflow-compatible API, in one run.

Run from the project root (MLflow 3.17.2 is a test dependency, so ``./dev setup`` installed it)::

    .venv/bin/python benchmarks/mlflow_api_bench.py [--models 200] [--requests 300] [--seconds 10]

Starts ``mlflow server`` (SQLite backend store, its default 4 workers) and ``modelreg serve`` (embedded default:
SQLite and the local artifact folder, its default one worker per core) on free loopback ports, registers the same
registry in both through the same REST calls (benchmarks/mlflow_compare.py: ``--models`` models x 10 versions, 5 tags
per version, 2 per model), then sends each operation of that workload (get a model, versions of a model, versions by
tag, set a version tag, create a version, a page of 100 models, the catalogue's two calls) to each server as the
same sequence of requests on one keep-alive connection, measuring the server's CPU (utime + stime of its process
tree) per operation, and get-model requests per second at concurrency 8. Prints one JSON line per operation with
both figures and their ratio (MLflow / modelreg: above 1 means modelreg is cheaper), one per throughput, and a
summary line. Exits 1 if a request failed.
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth import dev_issuer  # noqa: E402
from benchmarks.mlflow_compare import OPERATIONS, measure_operations, seed_mlflow, throughput  # noqa: E402
from tests.support.live_server import free_port  # noqa: E402


def start(command: list[str], env: dict[str, str], work: Path, ready_path: str, port: int) -> subprocess.Popen:
    log = open(work / f"server-{port}.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError((work / f"server-{port}.log").read_text()[-2000:])
        time.sleep(0.3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlflow", default=str(Path(sys.executable).with_name("mlflow")), help="the mlflow command")
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mlflow-api-bench-"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "MLFLOW_"))}
    mlflow_port, modelreg_port = free_port(), free_port()
    servers: dict[str, subprocess.Popen] = {}
    failed = 0
    try:
        servers["mlflow"] = start(
            [args.mlflow, "server", "--backend-store-uri", f"sqlite:///{work}/mlflow.db", "--host", "127.0.0.1",
             "--port", str(mlflow_port), "--artifacts-destination", str(work / "mlflow-artifacts")],
            clean, work, "/health", mlflow_port)
        servers["modelreg"] = start(
            [sys.executable, "-m", "app", "serve"],
            {**clean, "MODELREG_DATA_DIR": str(work / "modelreg"), "MODELREG_PORT": str(modelreg_port),
             "MODELREG_LOG_LEVEL": "WARNING"},
            work, "/readyz", modelreg_port)
        token = dev_issuer.mint_token(work / "modelreg", subject="bench", roles=["mlops"], audience="modelreg",
                                      ttl_seconds=6 * 3600)
        targets = {"mlflow": (f"http://127.0.0.1:{mlflow_port}", {}),
                   "modelreg": (f"http://127.0.0.1:{modelreg_port}", {"Authorization": f"Bearer {token}"})}
        names: list[str] = []
        for server, (url, headers) in targets.items():
            print(f"registering {args.models} models in {server}...", file=sys.stderr, flush=True)
            names = seed_mlflow(url, args.models, random.Random(42), headers)
        figures = {server: measure_operations(url, servers[server].pid, names, args.requests, headers)
                   for server, (url, headers) in targets.items()}
        ratios = []
        for operation in OPERATIONS:
            (mlflow_ms, mlflow_errors), (ours_ms, our_errors) = figures["mlflow"][operation], figures["modelreg"][
                operation]
            failed += len(mlflow_errors) + len(our_errors)
            for sample in (mlflow_errors + our_errors)[:3]:
                print(f"error sample: {sample}", file=sys.stderr)
            ratio = mlflow_ms / ours_ms if ours_ms else float("inf")
            ratios.append(ratio)
            print(json.dumps({"operation": operation, "models": args.models, "requests": args.requests,
                              "mlflow_cpu_ms_per_op": round(mlflow_ms, 2), "modelreg_cpu_ms_per_op": round(ours_ms, 2),
                              "mlflow_over_modelreg": round(ratio, 2),
                              "errors": len(mlflow_errors) + len(our_errors)}), flush=True)
        rates = {}
        for server, (url, headers) in targets.items():
            rate, errors = asyncio.run(throughput(url, names, 8, args.seconds, headers))
            failed += errors
            rates[server] = rate
            print(json.dumps({"throughput": "get_model", "server": server, "concurrency": 8,
                              "requests_per_s": round(rate, 1), "errors": errors}), flush=True)
        print(json.dumps({"summary": "mlflow_api", "operations": len(ratios),
                          "cheaper_on_modelreg": sum(ratio > 1 for ratio in ratios),
                          "throughput_ratio_modelreg_over_mlflow": round(rates["modelreg"] / rates["mlflow"], 2)}))
    finally:
        for server in servers.values():
            os.killpg(server.pid, 15)
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
