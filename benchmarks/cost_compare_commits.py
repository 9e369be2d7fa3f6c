"""Request cost of two commits side by side: server CPU per operation, the code at ``--before`` against this checkout.

Run from the project root (see docs/benchmarks.md, "Request cost", second round)::

    .venv/bin/python benchmarks/cost_compare_commits.py --before a723780                          # SQLite
    .venv/bin/python benchmarks/cost_compare_commits.py --before a723780 --database postgresql    # PostgreSQL

On a shared machine whose speed drifts, two benchmark runs minutes apart are not comparable; this runs both servers
at once. ``--before`` is checked out into a temporary git worktree; the database is migrated and seeded
(benchmarks/seed.py) by that commit's code, copied, and migrated to this checkout's head for the other server. Each
operation of benchmarks/cost_ops.py then runs in interleaved rounds against each server; server CPU is utime +
stime of the server's process tree from /proc. Prints one JSON line per operation with both figures and their
ratio. Needs the commit's migrations to be a prefix of this checkout's (they are: migrations are append-only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from benchmarks.cost_bench import DEFAULT_POSTGRES_URL, failure, tree_cpu_seconds  # noqa: E402
from benchmarks.cost_ops import OPERATIONS  # noqa: E402
from benchmarks.seed import seed  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402


def _migrate(source: Path, url: str) -> None:
    """Migrate ``url`` with the code in ``source`` (PYTHONSAFEPATH: the current folder does not come first)."""
    subprocess.run(
        [sys.executable, "-c", f"from app.db import migrate; migrate.upgrade({url!r})"],
        check=True,
        env={**os.environ, "PYTHONSAFEPATH": "1", "PYTHONPATH": str(source)},
    )


def _databases(kind: str, work: Path, before: Path, postgres_url: str, models: int) -> tuple[str, str, list[str]]:
    """(before's URL, this checkout's URL, model names): one seeded database and its copy."""
    if kind == "sqlite":
        old_url, new_url = f"sqlite:///{work}/before.db", f"sqlite:///{work}/after.db"
        _migrate(before, old_url)
        names = seed(old_url, models=models, seed_value=42).model_names
        shutil.copy(work / "before.db", work / "after.db")
    else:
        admin = create_engine(
            postgres_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        base = postgres_url.rsplit("/", 1)[0]
        with admin.connect() as connection:
            for name in ("cost_compare_before", "cost_compare_after"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text('CREATE DATABASE "cost_compare_before"'))
        old_url, new_url = f"{base}/cost_compare_before", f"{base}/cost_compare_after"
        _migrate(before, old_url)
        names = seed(old_url, models=models, seed_value=42).model_names
        with admin.connect() as connection:
            connection.execute(text('CREATE DATABASE "cost_compare_after" TEMPLATE "cost_compare_before"'))
        admin.dispose()
    _migrate(ROOT, new_url)
    return old_url, new_url, names


def compare(kind: str, before: Path, work: Path, postgres_url: str, models: int, rounds: int, per_round: int) -> None:
    old_url, new_url, names = _databases(kind, work, before, postgres_url, models)
    servers: dict[str, tuple[LiveServer, Path]] = {}
    try:
        for label, source, url in (("before", before, old_url), ("after", ROOT, new_url)):
            data = work / f"data-{label}"
            data.mkdir()
            env = {"PYTHONSAFEPATH": "1", "PYTHONPATH": str(source)}
            servers[label] = (LiveServer(data, url, env), data)
        for operation in OPERATIONS:
            totals = dict.fromkeys(servers, 0.0)
            clients = {
                label: httpx.Client(
                    base_url=server.url,
                    timeout=30,
                    headers={
                        "Authorization": "Bearer "
                        + mint_token(data, subject="bench", roles=["mlops"], audience="modelreg", ttl_seconds=3600)
                    },
                )
                for label, (server, data) in servers.items()
            }
            warm = random.Random(3)
            for label, client in clients.items():
                for _ in range(20):
                    answer = client.post(
                        "/graphql", json={"query": operation.document, "variables": operation.variables(warm, names)}
                    )
                    if problem := failure(answer):
                        raise SystemExit(f"{label} {operation.name}: {problem}")
            for round_number in range(rounds):
                order = ("before", "after") if round_number % 2 else ("after", "before")
                for label in order:
                    server = servers[label][0]
                    rng = random.Random(round_number)
                    started = tree_cpu_seconds(server.process.pid)
                    for _ in range(per_round):
                        clients[label].post(
                            "/graphql", json={"query": operation.document, "variables": operation.variables(rng, names)}
                        )
                    totals[label] += tree_cpu_seconds(server.process.pid) - started
            before_ms, after_ms = (totals[label] * 1000 / (rounds * per_round) for label in ("before", "after"))
            print(
                json.dumps(
                    {
                        "operation": operation.name,
                        "database": kind,
                        "models": models,
                        "before_cpu_ms_per_op": round(before_ms, 2),
                        "after_cpu_ms_per_op": round(after_ms, 2),
                        "after_over_before": round(after_ms / before_ms, 2),
                    }
                ),
                flush=True,
            )
            for client in clients.values():
                client.close()
    finally:
        for server, _ in servers.values():
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare this checkout with")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=40, help="requests per operation, round and server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelreg-cost-compare-") as folder:
        work = Path(folder)
        before = work / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(before), args.before], check=True
        )
        try:
            compare(args.database, before, work, args.postgres_url, args.models, args.rounds, args.per_round)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
