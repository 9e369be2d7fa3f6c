"""Registry load benchmark: seed a large registry, start a real server, measure GraphQL operations.

Run from the project root (see docs/benchmarks.md)::

    .venv/bin/python benchmarks/registry_bench.py --database sqlite
    .venv/bin/python benchmarks/registry_bench.py --database postgresql
    .venv/bin/python benchmarks/registry_bench.py --quick          # smoke run, under a minute

Prints JSON lines on stdout: one describing the seed, then one per scenario and concurrency with
requests, errors, requests/s, p50 and p99 latency (failed requests count in all of them). Progress and
error samples go to stderr. Exits 1 if any request failed: an HTTP or transport error, a timeout, a GraphQL
error, or an answer that does not hold what it should.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from app.auth.dev_issuer import mint_token  # noqa: E402
from benchmarks import scenarios  # noqa: E402
from benchmarks.seed import seed  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class Client:
    """POSTs GraphQL documents and classifies each answer as good or failed."""

    def __init__(self, base_url: str, token: str, concurrency: int, timeout: float) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                       limits=limits, timeout=timeout)
        self.error_samples: list[str] = []

    async def call(self, scenario: scenarios.Scenario, variables: dict[str, Any]) -> tuple[float, str | None]:
        """Latency in seconds and None, or latency and what went wrong."""
        started = time.perf_counter()
        try:
            response = await self._http.post("/graphql", json={"query": scenario.document, "variables": variables})
            elapsed = time.perf_counter() - started
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            elapsed = time.perf_counter() - started
            return elapsed, f"{type(error).__name__} after {elapsed:.1f} s {error}".rstrip()
        if response.status_code != 200 or body.get("errors"):
            return elapsed, f"HTTP {response.status_code}: {json.dumps(body.get('errors'))[:300]}"
        if not body.get("data"):
            return elapsed, "no data in answer"
        return elapsed, scenario.check(body["data"])

    async def close(self) -> None:
        await self._http.aclose()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values), max(1, math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


async def measure(client: Client, scenario: scenarios.Scenario, concurrency: int, seconds: float,
                  rng: random.Random) -> dict[str, Any]:
    """``concurrency`` workers send requests back to back for ``seconds``."""
    latencies: list[float] = []
    errors = 0

    async def worker(until: float) -> None:
        nonlocal errors
        while time.perf_counter() < until:
            latency, problem = await client.call(scenario, scenario.variables(rng))
            latencies.append(latency)
            if problem is not None:
                errors += 1
                if len(client.error_samples) < 5:
                    client.error_samples.append(f"{scenario.name}: {problem}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"requests": len(latencies), "errors": errors, "requests_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(ordered, 0.50) * 1000, 2), "p99_ms": round(percentile(ordered, 0.99) * 1000, 2)}


async def page_cursors(base_url: str, token: str) -> list[str | None]:
    """The ``after`` cursor of every 100-model page (None for the first), walked once before timing."""
    cursors: list[str | None] = [None]
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        while True:
            body = (await http.post("/graphql", json={"query": scenarios.MODELS_PAGE,
                                                       "variables": {"after": cursors[-1]}})).json()
            info = body["data"]["registeredModels"]["pageInfo"]
            if not info["hasNextPage"]:
                return cursors
            cursors.append(info["endCursor"])


async def run_scenario(args: argparse.Namespace, scenario: scenarios.Scenario, base_url: str, token: str,
                       rng: random.Random) -> int:
    """Measure one scenario at each concurrency; print a JSON line each; return the number of errors."""
    failed = 0
    for concurrency in args.concurrency:
        # The unrecorded warm-up gets its own connections: the server closes keep-alive connections left idle
        # (for example behind a slow warm-up request), and reusing one would count as an error.
        for seconds in ([args.warmup] if args.warmup > 0 else []) + [args.seconds]:
            client = Client(base_url, token, concurrency, args.timeout)
            try:
                result = await measure(client, scenario, concurrency, seconds, rng)
            finally:
                await client.close()
        line = {"scenario": scenario.name, "database": args.database, "concurrency": concurrency, **result}
        print(json.dumps(line), flush=True)
        for sample in client.error_samples:
            print(f"error sample: {sample}", file=sys.stderr)
        failed += result["errors"]
    return failed


def run_scenarios(args: argparse.Namespace, data_dir: Path, url: str, names: list[str]) -> int:
    """Each scenario gets a fresh server process, so a slow one cannot leave work behind for the next."""
    rng = random.Random(args.seed)
    wanted = set(args.scenario or [])
    token = mint_token(data_dir, subject="bench", roles=["mlops"], audience="modelreg", ttl_seconds=24 * 3600)
    cursors: list[str | None] = []  # filled once a server runs; the page scenario picks from it
    failed = 0
    for scenario in scenarios.build(names, cursors):
        if wanted and scenario.name not in wanted:
            continue
        print(f"{scenario.name}...", file=sys.stderr, flush=True)
        server = LiveServer(data_dir, url)
        try:
            if not cursors:
                cursors.extend(asyncio.run(page_cursors(server.url, token)))
            failed += asyncio.run(run_scenario(args, scenario, server.url, token, rng))
        finally:
            server.stop()
    return failed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
                        help="server to create a throw-away database on (default: %(default)s, or "
                             "MODELREG_BENCH_POSTGRES_URL)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 200 models, 2 s per measurement, 0.5 s warm-up")
    parser.add_argument("--models", type=int, default=None, help="models to seed (default 2000; 200 with --quick)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="measured seconds per scenario and concurrency (default 12; 2 with --quick)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="unrecorded seconds before each measurement (default 2; 0.5 with --quick)")
    parser.add_argument("--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[1, 8],
                        help="comma-separated worker counts (default 1,8)")
    parser.add_argument("--timeout", type=float, default=15.0,
                        help="seconds before a request counts as failed (default %(default)s)")
    parser.add_argument("--scenario", action="append", choices=[s.name for s in scenarios.build([], [])],
                        help="run only this scenario (repeatable)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for data and request mix")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and server log; print where")
    args = parser.parse_args(argv)
    args.models = args.models or (200 if args.quick else 2000)
    args.seconds = args.seconds or (2.0 if args.quick else 12.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="modelreg-bench-"))
    try:
        with fresh_database(work_dir, "bench", args.postgres_url if args.database == "postgresql" else "") as url:
            print(f"seeding {args.models} models into {args.database}...", file=sys.stderr, flush=True)
            seeded = seed(url, models=args.models, seed_value=args.seed)
            print(json.dumps({"seed": "registry", "database": args.database, **seeded.summary()}), flush=True)
            (work_dir / "data").mkdir()
            failed = run_scenarios(args, work_dir / "data", url, seeded.model_names)
    finally:
        if args.keep:
            print(f"kept {work_dir} (SQLite file, server logs)", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    if failed:
        print(f"FAILED: {failed} request(s) errored; see the error samples above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
