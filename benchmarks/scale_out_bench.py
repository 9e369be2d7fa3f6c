"""Scale-out benchmark: the scale-out test's set-up (tests/support/cluster.py: `modelreg serve` replicas, a
`modelreg worker`, HAProxy on loopback, PostgreSQL, one shared artifact folder) under the same mixed load
(tests/support/scale_load.py: reads, registrations, uploads, STAGING/PRODUCTION requests with approvals, a subscriber),
with 1 and then 2 replicas, each on a fresh database.

Run from the project root (docs/benchmarks.md, "Scale-out")::

    .venv/bin/python benchmarks/scale_out_bench.py                    # 30 s per run, 8 callers, no think time
    .venv/bin/python benchmarks/scale_out_bench.py --seconds 60 --loops 12
    .venv/bin/python benchmarks/scale_out_bench.py --reads-only       # the reads of the mix alone
    .venv/bin/python benchmarks/scale_out_bench.py --repeat 3         # 1, 2, 1, 2, 1, 2 replicas: median ratio

Prints one JSON line per run (requests, ok, failed, throughput, p50/p99 per operation in ms) and a last line with
the throughput ratio of 2 replicas to 1 of each pair and their median. The callers run in this process and take
CPU from the same machine: on few cores the ratio says as much about the machine as about the registry. Exits 1
if a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.cluster import Cluster  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.scale_load import POLICY, Load  # noqa: E402


def run(replicas: int, args: argparse.Namespace, work: Path) -> dict:
    folder = work / f"replicas-{replicas}"
    folder.mkdir(parents=True)
    policy = folder / "promotion.yaml"
    policy.write_text(POLICY)
    with (
        fresh_database(folder, f"bench{replicas}", server_url=args.database_url) as url,
        Cluster(folder, url, {}, replicas=replicas, extra_env={"MODELREG_PROMOTION_POLICY": str(policy)}) as cluster,
    ):
        weights = {"read": 1} if args.reads_only else None
        load = Load(cluster.url, cluster.data_dir, loops=args.loops, think=args.think, weights=weights)
        started = time.monotonic()

        async def go():
            results = await load.run(args.seconds, subscribers=1)
            elapsed = time.monotonic() - started
            await load.stop_following()
            return results, elapsed

        results, elapsed = asyncio.run(go())
    mix = "reads" if args.reads_only else "mixed"
    return {"replicas": replicas, "loops": args.loops, "mix": mix, **results.summary(elapsed)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="load per run (default 30)")
    parser.add_argument("--loops", type=int, default=8, help="concurrent callers (default 8)")
    parser.add_argument("--think", type=float, default=0.0, help="pause between a caller's requests, s (default 0)")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs, alternating 1 and 2 replicas (default 1)")
    parser.add_argument("--reads-only", action="store_true", help="only the reads of the mix (no writes)")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server; each run gets a fresh database on it",
    )
    args = parser.parse_args(argv)
    ratios, failed = [], 0
    with tempfile.TemporaryDirectory(prefix="modelreg-scale-") as work:
        for attempt in range(args.repeat):
            figures = {}
            for replicas in (1, 2):
                figures[replicas] = run(replicas, args, Path(work) / str(attempt))
                failed += figures[replicas]["failed"]
                print(json.dumps(figures[replicas]), flush=True)
            one, two = figures[1]["throughput_per_s"], figures[2]["throughput_per_s"]
            ratios.append(round(two / one, 2) if one else None)
    known = sorted(ratio for ratio in ratios if ratio is not None)
    median = known[len(known) // 2] if known else None
    print(json.dumps({"throughput_ratio_2_to_1": ratios, "median": median}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
