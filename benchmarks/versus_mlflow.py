"""modelreg and MLflow side by side, interleaved: each operation's server CPU as a share of MLflow's.

Run from the project root (see docs/benchmarks.md, "Request cost")::

    .venv/bin/python benchmarks/versus_mlflow.py --mlflow .venv/bin/mlflow                        # SQLite
    .venv/bin/python benchmarks/versus_mlflow.py --mlflow .venv/bin/mlflow --database postgresql  # PostgreSQL

Issue 15 set its targets in ms of server CPU measured beside MLflow 3.17.2 in one window. This machine's speed drifts
by up to 2x within minutes, so figures of two runs are not comparable, and neither is a figure with the issue's
targets unless MLflow measured what it measured then. This benchmark runs both servers at once: MLflow's default
server (benchmarks/mlflow_compare.py: SQLite store, 4 workers) and one modelreg server (``modelreg serve --workers 1``
on SQLite or PostgreSQL), each seeded with ``--models`` models x 10 versions (benchmarks/seed.py; MLflow's through
its REST API). Each operation of benchmarks/cost_ops.py then runs in ``--rounds`` interleaved rounds of
``--requests`` sequential requests against each server (the order alternating between rounds), and server CPU
(utime + stime of each server's process tree) is added up per server.

Prints one JSON line per operation: both figures, modelreg's share of MLflow's, and the target's share of the
MLflow figure in the issue (the target expressed at the issue's speed of the machine); ``meets`` says whether the
share is at or under it. Exits 1 if a request failed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from benchmarks.cost_bench import DEFAULT_POSTGRES_URL, failure, tree_cpu_seconds  # noqa: E402
from benchmarks.cost_ops import OPERATIONS, Operation  # noqa: E402
from benchmarks.mlflow_compare import OPERATIONS as MLFLOW_CALLS  # noqa: E402
from benchmarks.mlflow_compare import mlflow_server, seed_mlflow, send  # noqa: E402
from benchmarks.seed import seed  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

# Issue 15: (target ms, MLflow's ms in the same measurement) per operation.
ISSUE = {
    "get_model": (2.5, 7.4),
    "model_versions": (3.0, 9.7),
    "versions_by_tag": (4.0, 14.7),
    "set_version_tag": (3.5, 9.5),
    "create_version": (5.0, 9.0),
    "models_page": (12.0, 61.1),
    "catalogue_page": (15.0, 110.0),
}


def _modelreg_round(http: httpx.Client, operation: Operation, names: list[str], rng: random.Random,
                    requests: int) -> list[str]:
    errors = []
    for _ in range(requests):
        answer = http.post("/graphql", json={"query": operation.document, "variables": operation.variables(rng, names)})
        if problem := failure(answer):
            errors.append(f"modelreg {operation.name}: {problem}")
    return errors


def _mlflow_round(http: httpx.Client, operation: str, names: list[str], rng: random.Random,
                  requests: int) -> list[str]:
    errors = []
    for _ in range(requests):
        for call in MLFLOW_CALLS[operation]:
            if problem := send(http, call(rng, names)):
                errors.append(f"mlflow {operation}: {problem}")
    return errors


def compare(args: argparse.Namespace, work: Path) -> int:
    """Seed both servers, measure every operation in interleaved rounds, print the lines; the failed requests."""
    failed = 0
    postgres = args.postgres_url if args.database == "postgresql" else ""
    with mlflow_server(args.mlflow, work) as (mlflow_url, mlflow), fresh_database(work, "versus", postgres) as url:
        print(f"registering {args.models} models in MLflow and in modelreg ({args.database})...", file=sys.stderr,
              flush=True)
        mlflow_names = seed_mlflow(mlflow_url, args.models, random.Random(42))
        names = seed(url, models=args.models, seed_value=42).model_names
        data = work / "data"
        data.mkdir()
        token = mint_token(data, subject="bench", roles=["mlops"], audience="modelreg", ttl_seconds=24 * 3600)
        server = LiveServer(data, url, {"MODELREG_WORKERS": "1"})
        try:
            with httpx.Client(base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as ours, \
                    httpx.Client(base_url=mlflow_url, timeout=60) as theirs:
                for operation in OPERATIONS:
                    warm = random.Random(3)
                    errors = _modelreg_round(ours, operation, names, warm, 20)
                    errors += _mlflow_round(theirs, operation.name, mlflow_names, warm, 20)
                    totals = {"modelreg": 0.0, "mlflow": 0.0}
                    for round_number in range(args.rounds):
                        order = ("mlflow", "modelreg") if round_number % 2 else ("modelreg", "mlflow")
                        for label in order:
                            rng = random.Random(round_number)
                            pid = server.process.pid if label == "modelreg" else mlflow.pid
                            started = tree_cpu_seconds(pid)
                            if label == "modelreg":
                                errors += _modelreg_round(ours, operation, names, rng, args.requests)
                            else:
                                errors += _mlflow_round(theirs, operation.name, mlflow_names, rng, args.requests)
                            totals[label] += tree_cpu_seconds(pid) - started
                    failed += len(errors)
                    for sample in errors[:3]:
                        print(f"error sample: {sample}", file=sys.stderr)
                    ours_ms, theirs_ms = (totals[label] * 1000 / (args.rounds * args.requests)
                                          for label in ("modelreg", "mlflow"))
                    target, issue_mlflow = ISSUE[operation.name]
                    share, target_share = ours_ms / theirs_ms, target / issue_mlflow
                    print(json.dumps({
                        "operation": operation.name, "database": args.database, "models": args.models,
                        "modelreg_cpu_ms_per_op": round(ours_ms, 2), "mlflow_cpu_ms_per_op": round(theirs_ms, 2),
                        "mlflow_calls": len(MLFLOW_CALLS[operation.name]), "share_of_mlflow": round(share, 3),
                        "target_share": round(target_share, 3), "meets": share <= target_share,
                        "errors": len(errors),
                    }), flush=True)
        finally:
            server.stop()
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlflow", default="mlflow", help="the mlflow command")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per operation (default 4)")
    parser.add_argument("--requests", type=int, default=60, help="requests per server and round (default 60)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="modelreg-versus-") as work:
        return 1 if compare(args, Path(work)) else 0


if __name__ == "__main__":
    sys.exit(main())
