"""Request cost benchmark: server CPU per everyday operation, statements and connections per request, throughput.

Run from the project root (see docs/benchmarks.md, "Request cost")::

    .venv/bin/python benchmarks/cost_bench.py                        # SQLite, 200 and 2,000 models
    .venv/bin/python benchmarks/cost_bench.py --database postgresql  # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python benchmarks/cost_bench.py --throughput           # also get-model ops/s at concurrency 8

Workload (issue 15): a registry seeded by benchmarks/seed.py with 200 and then 2,000 models x 10 versions, each
version with 5 tags and 5 metrics (the issue measured 3; ours is the heavier), 2 tags per model, the aliases
`champion` and `challenger`. One real server process (`python -m app serve`, the production entry point) with
a development token of role mlops. Each operation of benchmarks/cost_ops.py is sent sequentially over one
keep-alive connection: a warm-up, then ``--requests`` measured requests. Server CPU is utime + stime of the
server's whole process tree (workers included) read from /proc before and after, divided by the requests: it
does not count the client, and it is far less noisy on a shared machine than wall time.

Statements and connections per request are counted in process (the same application on the same database,
through SQLAlchemy's ``before_cursor_execute``, pool ``checkout`` and ``connect`` events) for one request of each
operation after a warm-up one.

``--throughput`` adds get-model requests per second at concurrency 8 for ``modelreg serve --workers 1`` and
``--workers N`` (N = the cores), with the ratio.

Prints one JSON line per (operation, registry size), then the throughput lines. Exits 1 if a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from benchmarks.cost_ops import OPERATIONS, Operation  # noqa: E402
from benchmarks.seed import seed  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root_pid: int) -> float:
    """utime + stime of ``root_pid`` and every live descendant, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    total, wanted = 0.0, {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += times.get(pid, 0.0)
    return total


def failure(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    body = response.json()
    if body.get("errors") or not body.get("data"):
        return json.dumps(body.get("errors"))[:300]
    return None


def cpu_per_request(server: LiveServer, token: str, operation: Operation, names: list[str], requests: int,
                    rng: random.Random) -> tuple[float, float, list[str]]:
    """(server CPU ms per request, client wall ms per request, error samples)."""
    errors: list[str] = []
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        def send() -> None:
            problem = failure(http.post("/graphql", json={"query": operation.document,
                                                          "variables": operation.variables(rng, names)}))
            if problem:
                errors.append(f"{operation.name}: {problem}")

        for _ in range(max(20, requests // 10)):
            send()
        started_cpu, started_wall = tree_cpu_seconds(server.process.pid), time.perf_counter()
        for _ in range(requests):
            send()
        cpu = tree_cpu_seconds(server.process.pid) - started_cpu
        wall = time.perf_counter() - started_wall
    return cpu * 1000 / requests, wall * 1000 / requests, errors


_in_request: ContextVar[bool] = ContextVar("in_request", default=False)


@contextmanager
def counting(app: Any) -> Iterator[dict[str, int]]:
    """Statements (BEGIN not counted: SQLite sends it as one, PostgreSQL's driver does not), pool checkouts and new
    connections of the request made in the block (the event feed's and dispatcher's tasks are not counted)."""
    from sqlalchemy import event

    counts = {"statements": 0, "checkouts": 0, "connects": 0}
    engines = {app.state.database.reader.sync_engine, app.state.database.writer.sync_engine}

    def statement(_connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if _in_request.get() and not sql.startswith("BEGIN"):
            counts["statements"] += 1

    def checkout(*_: Any) -> None:
        if _in_request.get():
            counts["checkouts"] += 1

    def connect(*_: Any) -> None:
        if _in_request.get():
            counts["connects"] += 1

    hooks = [(engine, "before_cursor_execute", statement) for engine in engines]
    hooks += [(engine.pool, "checkout", checkout) for engine in engines]
    hooks += [(engine.pool, "connect", connect) for engine in engines]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    marker = _in_request.set(True)
    try:
        yield counts
    finally:
        _in_request.reset(marker)
        for target, name, hook in hooks:
            event.remove(target, name, hook)


async def statements_per_request(data_dir: Path, url: str, token: str, names: list[str],
                                 rng: random.Random) -> dict[str, dict[str, int]]:
    """Statements, checkouts and new connections of one request of each operation, in process."""
    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(data_dir=data_dir, database_url=url))
    found: dict[str, dict[str, int]] = {}
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         headers={"Authorization": f"Bearer {token}"}) as http:
                for operation in OPERATIONS:
                    body = {"query": operation.document, "variables": operation.variables(rng, names)}
                    await http.post("/graphql", json=body)  # warm-up: caches, pool
                    body = {"query": operation.document, "variables": operation.variables(rng, names)}
                    with counting(app) as counts:
                        response = await http.post("/graphql", json=body)
                    if problem := failure(response):
                        raise RuntimeError(f"{operation.name}: {problem}")
                    found[operation.name] = dict(counts)
    finally:
        await app.state.database.dispose()
    return found


def ab_throughput(url: str, concurrency: int, seconds: float, headers: dict[str, str],
                  body: bytes | None = None) -> tuple[float, int] | None:
    """Requests per second and failures of ApacheBench (Debian's apache2-utils) at ``concurrency`` with keep-alive,
    after 2 s of warm-up: a load generator in C leaves the cores to the server. None when ``ab`` is not installed."""
    if shutil.which("ab") is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".json") as payload:
        command = ["ab", "-q", "-k", "-c", str(concurrency), "-n", "100000000"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        if body is not None:
            payload.write(body)
            payload.flush()
            command += ["-p", payload.name, "-T", "application/json"]
        subprocess.run([*command, "-t", "2", url], capture_output=True, check=False)
        timed = [*command, "-t", str(int(seconds)), url]
        out = subprocess.run(timed, capture_output=True, text=True, check=False).stdout
    rate = re.search(r"Requests per second:\s+([\d.]+)", out)
    failed = sum(int(found.group(1)) for found in re.finditer(r"(?:Failed requests|Non-2xx responses):\s+(\d+)", out))
    return (float(rate.group(1)), failed) if rate else (0.0, 1)


async def httpx_throughput(base_url: str, headers: dict[str, str], concurrency: int, seconds: float,
                           send: Callable[[httpx.AsyncClient], Awaitable[bool]]) -> tuple[float, int]:
    """Requests per second and failures of ``concurrency`` httpx clients calling ``send`` (True: a good answer)
    back to back for ``seconds``, after 2 s of warm-up."""
    done = failed = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30) as http:
        async def worker(until: float, count: bool) -> None:
            nonlocal done, failed
            while time.perf_counter() < until:
                good = await send(http)
                if count:
                    done += 1
                    failed += not good

        await asyncio.gather(*(worker(time.perf_counter() + 2, False) for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds, True) for _ in range(concurrency)))
        return done / (time.perf_counter() - started), failed


async def throughput(server: LiveServer, token: str, names: list[str], concurrency: int,
                     seconds: float) -> tuple[float, int]:
    """Get-model requests per second with ``concurrency`` clients back to back, and the failures."""
    operation = OPERATIONS[0]
    rng = random.Random(7)

    async def get_model(http: httpx.AsyncClient) -> bool:
        response = await http.post("/graphql", json={"query": operation.document,
                                                     "variables": operation.variables(rng, names)})
        return failure(response) is None

    return await httpx_throughput(server.url, {"Authorization": f"Bearer {token}"}, concurrency, seconds, get_model)


def measure_size(args: argparse.Namespace, models: int, work_dir: Path) -> int:
    """Seed ``models`` models, print one JSON line per operation; return the failed requests."""
    failed = 0
    run_dir = work_dir / f"models-{models}"
    run_dir.mkdir()
    with fresh_database(run_dir, "cost", args.postgres_url if args.database == "postgresql" else "") as url:
        print(f"seeding {models} models into {args.database}...", file=sys.stderr, flush=True)
        names = seed(url, models=models, seed_value=args.seed).model_names
        data_dir = run_dir / "data"
        data_dir.mkdir()
        token = mint_token(data_dir, subject="bench", roles=["mlops"], audience="modelreg", ttl_seconds=24 * 3600)
        counts = asyncio.run(statements_per_request(data_dir, url, token, names, random.Random(args.seed)))
        server = LiveServer(data_dir, url, {"MODELREG_WORKERS": "1"})
        try:
            rng = random.Random(args.seed)
            for operation in OPERATIONS:
                cpu_ms, wall_ms, errors = cpu_per_request(server, token, operation, names, args.requests, rng)
                failed += len(errors)
                for sample in errors[:3]:
                    print(f"error sample: {sample}", file=sys.stderr)
                print(json.dumps({"operation": operation.name, "database": args.database, "models": models,
                                  "cpu_ms_per_op": round(cpu_ms, 2), "wall_ms_per_op": round(wall_ms, 2),
                                  **counts[operation.name], "requests": args.requests, "errors": len(errors)}),
                      flush=True)
            if args.throughput:
                for workers in (1, os.cpu_count() or 1):
                    failed += report_throughput(args, data_dir, url, token, names, workers)
        finally:
            server.stop()
    return failed


def report_throughput(args: argparse.Namespace, data_dir: Path, url: str, token: str, names: list[str],
                      workers: int) -> int:
    """Get-model requests per second at concurrency 8: with httpx (an async Python client, which itself needs about
    a core here) and, when installed, with ApacheBench (one model name, the same document)."""
    server = LiveServer(data_dir, url, {"MODELREG_WORKERS": str(workers)})
    failed = 0
    try:
        body = json.dumps({"query": OPERATIONS[0].document, "variables": {"name": names[len(names) // 2]}}).encode()
        for client, measured in (
            ("httpx", asyncio.run(throughput(server, token, names, 8, args.seconds))),
            ("ab", ab_throughput(f"{server.url}/graphql", 8, args.seconds, {"Authorization": f"Bearer {token}"}, body)),
        ):
            if measured is None:
                continue
            rate, errors = measured
            failed += errors
            print(json.dumps({"throughput": "get_model", "database": args.database, "workers": workers,
                              "concurrency": 8, "client": client, "requests_per_s": round(rate, 1),
                              "errors": errors}), flush=True)
    finally:
        server.stop()
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--models", type=lambda s: [int(n) for n in s.split(",")], default=[200, 2000],
                        help="comma-separated registry sizes (default 200,2000)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per operation (default 300)")
    parser.add_argument("--throughput", action="store_true", help="also measure get-model ops/s at concurrency 8")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per throughput run")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="modelreg-cost-"))
    try:
        failed = sum(measure_size(args, models, work_dir) for models in args.models)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
