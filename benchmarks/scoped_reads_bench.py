"""Scoped reads benchmark (issue 18): server CPU of a catalogue page for a caller within one namespace against a
caller who reads everything, with 2,000 models across 20 namespaces.

Run from the project root (see docs/benchmarks.md, "Scoped reads")::

    .venv/bin/python benchmarks/scoped_reads_bench.py                        # SQLite
    .venv/bin/python benchmarks/scoped_reads_bench.py --database postgresql  # PostgreSQL on 127.0.0.1:5432

Workload: benchmarks/seed.py's registry (2,000 models x 10 versions, tags, metrics, aliases), its models renamed
into 20 namespaces by family (``fraud/xgb-0000``, ``churn/lgbm-0021``: 100 models each), then ANALYZE. One real
server process (``python -m app serve``, one worker) with MODELREG_READ_SCOPE=scoped, and one in the default
mode (global) for reference. The page is cost_ops.py's ``catalogue_page`` plus ``totalCount``: 100 models, each
with its latest version and its metrics, tags and aliases. Callers:

- ``global``: ``mlops`` (a global role: no filter);
- ``one-namespace``: ``data-scientist@fraud/`` (its page is the 100 models of ``fraud/``);
- ``three-namespaces``: ``auditor`` within ``fraud/``, ``churn/`` and ``credit/`` (three name ranges, 300 models);
- ``global-mode``: ``mlops`` on the server in the default mode (today's behaviour).

Server CPU per request is utime + stime of the server's process tree from /proc (benchmarks/cost_bench.py),
measured in ``--rounds`` interleaved rounds of ``--requests`` / rounds requests per caller after a warm-up; the
median round counts, so a noisy neighbour on the shared cores skews all callers alike. Prints one JSON line per
caller, then a summary line with each ratio to ``global`` and ``ok`` (one-namespace at most 1.5x global). Exits 1
on a failed request, a page that is not what the caller may read, or a ratio above the bound.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from app.db.engine import driver_urls  # noqa: E402
from benchmarks.cost_bench import DEFAULT_POSTGRES_URL, failure, tree_cpu_seconds  # noqa: E402
from benchmarks.seed import FAMILIES, seed  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

CATALOGUE_PAGE = """
query ScopedCatalogue($after: String) {
  registeredModels(first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name owner latestVersion { version stage metrics { name value } } tags { key value }
                   aliases { alias } } }
  }
}
"""
BOUND = 1.5
CALLERS = {
    "global": ["mlops"],
    "one-namespace": ["data-scientist@fraud/"],
    "three-namespaces": ["auditor@fraud/", "auditor@churn/", "auditor@credit/"],
}


def namespaced(url: str, models: int) -> None:
    """Rename the seeded models into one namespace per family: ``fraud-xgb-0000`` -> ``fraud/xgb-0000``."""
    engine = create_engine(driver_urls(url)[1])
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT id, name FROM registered_models")).all()
        renames = []
        for model_id, name in rows:
            family = next(f for f in sorted(FAMILIES, key=len, reverse=True) if name.startswith(f + "-"))
            renames.append({"id": model_id, "name": f"{family}/{name[len(family) + 1:]}"})
        connection.execute(text("UPDATE registered_models SET name = :name WHERE id = :id"), renames)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    engine.dispose()
    assert len(rows) == models


def expected_names(caller: str) -> tuple[str, ...] | None:
    """The namespaces a caller's page must stay within (None: anything)."""
    roles = CALLERS.get(caller)
    if roles is None or roles == ["mlops"]:
        return None
    return tuple(role.split("@", 1)[1] for role in roles)


def check_page(body: dict, caller: str, models: int) -> str | None:
    """What is wrong with a caller's page: names out of their namespaces, a short page, a wrong count."""
    page = body["data"]["registeredModels"]
    names = [edge["node"]["name"] for edge in page["edges"]]
    prefixes = expected_names(caller)
    per_namespace = models // len(FAMILIES)
    want_total = models if prefixes is None else per_namespace * len(prefixes)
    if page["totalCount"] != want_total:
        return f"{caller}: totalCount {page['totalCount']}, expected {want_total}"
    if len(names) != min(100, want_total):
        return f"{caller}: {len(names)} models on the page"
    if prefixes is not None and not all(name.startswith(prefixes) for name in names):
        return f"{caller}: a model out of scope on the page"
    return None


def measure(servers: dict[str, tuple[LiveServer, str]], requests: int, rounds: int) -> dict[str, list[float]]:
    """Server CPU ms per request of each caller, per round (callers interleaved within each round)."""
    clients = {caller: httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
               for caller, (server, token) in servers.items()}
    body = {"query": CATALOGUE_PAGE, "variables": {"after": None}}
    per_round: dict[str, list[float]] = {caller: [] for caller in servers}
    try:
        for caller, http in clients.items():
            for _ in range(max(10, requests // rounds)):  # warm-up
                response = http.post("/graphql", json=body)
                if problem := failure(response):
                    raise RuntimeError(f"{caller}: {problem}")
        for _ in range(rounds):
            for caller, http in clients.items():
                pid = servers[caller][0].process.pid
                count = max(1, requests // rounds)
                started = tree_cpu_seconds(pid)
                for _ in range(count):
                    response = http.post("/graphql", json=body)
                    if problem := failure(response):
                        raise RuntimeError(f"{caller}: {problem}")
                per_round[caller].append((tree_cpu_seconds(pid) - started) * 1000 / count)
    finally:
        for http in clients.values():
            http.close()
    return per_round


def run(args: argparse.Namespace, work_dir: Path) -> int:
    server_url = args.postgres_url if args.database == "postgresql" else ""
    with fresh_database(work_dir, "scoped", server_url) as url:
        print(f"seeding {args.models} models into {args.database}...", file=sys.stderr, flush=True)
        seed(url, models=args.models, seed_value=args.seed)
        namespaced(url, args.models)
        data_dir = work_dir / "data"
        data_dir.mkdir()
        tokens = {caller: mint_token(data_dir, subject=f"bench-{caller}", roles=roles, audience="modelreg",
                                     ttl_seconds=24 * 3600) for caller, roles in CALLERS.items()}
        scoped = LiveServer(data_dir, url, {"MODELREG_READ_SCOPE": "scoped"})
        default = LiveServer(data_dir, url, {"MODELREG_READ_SCOPE": "global"})
        problems = []
        try:
            servers = {caller: (scoped, token) for caller, token in tokens.items()}
            servers["global-mode"] = (default, tokens["global"])
            for caller, (server, token) in servers.items():
                response = httpx.post(f"{server.url}/graphql", json={"query": CATALOGUE_PAGE},
                                      headers={"Authorization": f"Bearer {token}"}, timeout=60)
                problem = failure(response) or check_page(response.json(), caller, args.models)
                if problem:
                    problems.append(problem)
            if problems:
                print("\n".join(problems), file=sys.stderr)
                return 1
            started = time.perf_counter()
            per_round = measure(servers, args.requests, args.rounds)
            elapsed = time.perf_counter() - started
        finally:
            scoped.stop()
            default.stop()
    medians = {caller: statistics.median(values) for caller, values in per_round.items()}
    for caller, values in per_round.items():
        print(json.dumps({"caller": caller, "roles": CALLERS.get(caller, CALLERS["global"]),
                          "read_scope": "global" if caller == "global-mode" else "scoped", "database": args.database,
                          "models": args.models, "namespaces": len(FAMILIES),
                          "cpu_ms_per_page": round(medians[caller], 2),
                          "cpu_ms_per_page_rounds": [round(value, 2) for value in values],
                          "requests": args.requests}), flush=True)
    ratios = {caller: round(medians[caller] / medians["global"], 3) for caller in medians if caller != "global"}
    ok = ratios["one-namespace"] <= BOUND
    print(json.dumps({"summary": "scoped catalogue page / global", "database": args.database, "ratios": ratios,
                      "bound": BOUND, "ok": ok, "seconds": round(elapsed, 1)}), flush=True)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--models", type=int, default=2000, help="models, spread over 20 namespaces (default 2000)")
    parser.add_argument("--requests", type=int, default=300, help="measured pages per caller (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    work_dir = Path(tempfile.mkdtemp(prefix="modelreg-scoped-"))
    try:
        return run(args, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
