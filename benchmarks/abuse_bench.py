"""Abuse benchmark: hostile bodies and queries against a real server while a probe measures everyone else's latency.

Run from the project root::

    .venv/bin/python benchmarks/abuse_bench.py                         # SQLite, fresh temporary file
    .venv/bin/python benchmarks/abuse_bench.py --database postgresql   # throw-away database on 127.0.0.1:5432
    .venv/bin/python benchmarks/abuse_bench.py --seconds 5 --attackers 2

It migrates an empty database, seeds a small registry (``benchmarks/seed.py``, 50 models x 10 versions), starts
``modelreg serve`` (uvicorn, one worker) on a free loopback port, then runs for ``--seconds``:

- a probe: one caller sending ``{ viewer { subject } }`` one request after another (the latency any other user
  sees);
- ``--attackers`` hostile callers (no-role tokens, as the issue's reproductions) cycling through the cases below.

The cases are the issue's reproductions and the worst bodies the limits still let through: a 40 MB string
variable (Content-Length declared), 4 MB streamed without a Content-Length, 150,000 metric conditions (4.8 MB),
a 1,001-item list, the issue's four nested connections of 100, 100 lineage walks of 2,000 nodes, a batch of 11 and
a batch of 10 expensive operations, 100,000 nested arrays, invalid UTF-8, and, allowed by every limit, a body
just under 2 MiB holding 1,000 metric conditions with long names.

Before the attack the probe runs alone for ``--seconds`` / 2 (the baseline). Prints one JSON object on stdout:
the baseline and attacked probe p50/p99/max in ms, and per case the HTTP status, the error code and the p50/max
ms of its answer. Exits 1 when the attacked probe's p99 is over ``--target-ms`` (default 100) or a case was not
refused as expected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from benchmarks.seed import seed  # noqa: E402
from benchmarks.stats import ms, percentile  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PROBE = "{ viewer { subject } }"
BY_METRICS = "query($f: ModelVersionFilter) { modelVersions(filter: $f) { totalCount } }"
NESTED_VERSIONS = (
    '{registeredModels(first:100,filter:{name:{equals:"big/m"}}){nodes{versions(first:100){nodes{model{'
    "versions(first:100){nodes{model{versions(first:100){nodes{version}}}}}}}}}}}"
)
LINEAGE_WALKS = "{ modelVersions(first: 100) { nodes { lineage(maxNodes: 2000, depth: 50) { nodes { id } } } } }"
EXPENSIVE = "{ registeredModels(first: 100) { nodes { versions(first: 100) { nodes { version } } } } }"


def body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def metrics(count: int, name_length: int = 4) -> dict[str, Any]:
    return {"f": {"metrics": [{"name": f"m{i}".ljust(name_length, "x"), "gte": 0.5} for i in range(count)]}}


async def streamed(total: int, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * chunk
        sent += chunk


@dataclass
class Case:
    name: str
    content: Callable[[], Any]  # bytes, or an async iterator (no Content-Length)
    expect: tuple[int, ...]  # acceptable HTTP statuses
    refused: bool = True  # whether an error is expected in the answer


def cases() -> list[Case]:
    big_string = json.dumps({"query": BY_METRICS, "variables": {"s": "x" * 40_000_000}}).encode()
    many_conditions = body(BY_METRICS, metrics(150_000))
    near_limit = body(BY_METRICS, metrics(1000, name_length=2000))
    assert len(near_limit) < 2 * 1024 * 1024, len(near_limit)
    prebuilt = {
        "string_variable_40MB": big_string,
        "metric_conditions_150000": many_conditions,
        "list_of_1001": body(BY_METRICS, metrics(1001)),
        "nested_connections_100x4": body(NESTED_VERSIONS),
        "lineage_walks_100x2000": body(LINEAGE_WALKS),
        "batch_of_11": json.dumps([{"query": PROBE}] * 11).encode(),
        "batch_of_10_expensive": json.dumps([{"query": EXPENSIVE}] * 10).encode(),
        "nested_arrays_100000": b"[" * 100_000 + b"]" * 100_000,
        "invalid_utf8": b'{"query":"\xff\xfe"}',
        "allowed_2MiB_1000_conditions": near_limit,
    }
    statuses = {
        "string_variable_40MB": (413,),
        "metric_conditions_150000": (413,),
        "list_of_1001": (200,),
        "nested_connections_100x4": (200,),
        "lineage_walks_100x2000": (200,),
        "batch_of_11": (400,),
        "batch_of_10_expensive": (400,),
        "nested_arrays_100000": (400,),
        "invalid_utf8": (400,),
        "allowed_2MiB_1000_conditions": (200,),
    }
    found = [Case(name, lambda data=data: data, statuses[name]) for name, data in prebuilt.items()]
    found.insert(2, Case("streamed_4MB_no_length", lambda: streamed(4 * 1024 * 1024), (413,)))
    return found


class Recorder:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.outcomes: dict[str, set[str]] = {}
        self.unexpected: list[str] = []

    def add(self, name: str, seconds: float, outcome: str) -> None:
        self.times.setdefault(name, []).append(seconds)
        self.outcomes.setdefault(name, set()).add(outcome)


async def probe(url: str, token: str, until: float, times: list[float]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        while time.monotonic() < until:
            started = time.perf_counter()
            response = await client.post("/graphql", content=body(PROBE), headers=headers)
            times.append(time.perf_counter() - started)
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(f"probe failed: {response.status_code} {response.text[:200]}")


async def attack(url: str, token: str, until: float, all_cases: list[Case], recorder: Recorder, offset: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        index = offset
        while time.monotonic() < until:
            case = all_cases[index % len(all_cases)]
            index += 1
            started = time.perf_counter()
            try:
                response = await client.post("/graphql", content=case.content(), headers=headers)
                elapsed = time.perf_counter() - started
                status = response.status_code
                try:
                    answer = response.json()
                    first = answer[0] if isinstance(answer, list) else answer
                    code = ((first.get("errors") or [{}])[0].get("extensions") or {}).get("code", "none")
                except ValueError:
                    code = "not-json"
            except httpx.HTTPError as error:  # the server may close a connection it stopped reading
                elapsed, status, code = time.perf_counter() - started, 0, type(error).__name__
            recorder.add(case.name, elapsed, f"{status} {code}")
            if status not in case.expect and not (status == 0 and 413 in case.expect):
                recorder.unexpected.append(f"{case.name}: {status} {code}")


def attack_process(url: str, token: str, seconds: float, offset: int) -> Recorder:
    recorder = Recorder()
    all_cases = cases()
    asyncio.run(attack(url, token, time.monotonic() + seconds + 1.0, all_cases, recorder, offset))
    return recorder


def summary(times: list[float]) -> dict[str, Any]:
    return {
        "requests": len(times),
        "p50_ms": ms(percentile(times, 0.5)),
        "p99_ms": ms(percentile(times, 0.99)),
        "max_ms": ms(max(times)) if times else None,
    }


async def measure(url: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    user = mint_token(data_dir, subject="probe", roles=["data-scientist"], audience="modelreg", ttl_seconds=3600)
    hostile = mint_token(data_dir, subject="attacker", roles=[], audience="modelreg", ttl_seconds=3600)
    baseline: list[float] = []
    await probe(url, user, time.monotonic() + args.seconds / 2, baseline)
    attacked: list[float] = []
    # Attackers run in their own processes: their client work (sending 40 MB) must not delay the probe's client.
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(args.attackers) as pool:
        attackers = [
            loop.run_in_executor(pool, attack_process, url, hostile, args.seconds, offset * 5)
            for offset in range(args.attackers)
        ]
        await asyncio.sleep(1.0)  # the attackers' processes start and build their bodies
        await probe(url, user, time.monotonic() + args.seconds, attacked)
        recorders = await asyncio.gather(*attackers)
    recorder = Recorder()
    for part in recorders:
        for name, times in part.times.items():
            recorder.times.setdefault(name, []).extend(times)
            recorder.outcomes.setdefault(name, set()).update(part.outcomes[name])
        recorder.unexpected.extend(part.unexpected)
    return {
        "probe_baseline": summary(baseline),
        "probe_under_attack": summary(attacked),
        "cases": {
            name: {"answers": sorted(recorder.outcomes[name]), **summary(times)}
            for name, times in recorder.times.items()
        },
        "unexpected": recorder.unexpected[:20],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--seconds", type=float, default=20.0, help="attack duration (default %(default)s)")
    parser.add_argument("--attackers", type=int, default=2, help="concurrent hostile callers (default %(default)s)")
    parser.add_argument("--target-ms", type=float, default=100.0, help="probe p99 target (default %(default)s)")
    args = parser.parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="modelreg-abuse-"))
    try:
        with fresh_database(work_dir, "abuse", args.postgres_url if args.database == "postgresql" else "") as url:
            seed(url, models=50)
            (work_dir / "data").mkdir()
            server = LiveServer(work_dir / "data", url)
            try:
                result = asyncio.run(measure(server.url, work_dir / "data", args))
            finally:
                server.stop()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    result = {"benchmark": "abuse", "database": args.database, "seconds": args.seconds,
              "attackers": args.attackers, "target_p99_ms": args.target_ms, **result}
    print(json.dumps(result, indent=2))
    p99 = result["probe_under_attack"]["p99_ms"]
    return 1 if result["unexpected"] or p99 is None or p99 > args.target_ms else 0


if __name__ == "__main__":
    sys.exit(main())
