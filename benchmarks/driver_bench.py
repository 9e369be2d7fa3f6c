"""CPU per statement of the two PostgreSQL drivers the server could use (issue 15): why it runs on asyncpg.

Run from the project root (see docs/benchmarks.md, "Request cost", sixth round)::

    .venv/bin/python benchmarks/driver_bench.py [--url postgresql://postgres@127.0.0.1:5432/postgres]

One connection per driver, on uvloop as the server runs; each sends ``--statements`` times a primary-key SELECT of
one row (``pg_class`` by oid: every database has it), after a warm-up that lets both drivers prepare it. Prints one
JSON line per driver: this process's CPU (user and system) per statement in microseconds. The server's own
processes are not counted: only what a statement costs the registry's process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable

import asyncpg
import psycopg
import uvloop

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WARM_UP = 200


def _cpu() -> tuple[float, float]:
    times = os.times()
    return times.user, times.system


async def _measure(run_one: Callable[[int], Awaitable[object]], statements: int) -> dict[str, float]:
    for index in range(WARM_UP):
        await run_one(index)
    user, system = _cpu()
    for index in range(statements):
        await run_one(index)
    user_after, system_after = _cpu()
    return {
        "user_us_per_statement": round(1e6 * (user_after - user) / statements, 1),
        "system_us_per_statement": round(1e6 * (system_after - system) / statements, 1),
        "cpu_us_per_statement": round(1e6 * (user_after - user + system_after - system) / statements, 1),
    }


async def _oids(url: str) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        return [row[0] for row in await connection.fetch("SELECT oid FROM pg_class ORDER BY oid LIMIT 50")]
    finally:
        await connection.close()


async def main_async(url: str, statements: int) -> None:
    oids = await _oids(url)

    connection = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:

        async def psycopg_one(index: int) -> object:
            async with connection.cursor() as cursor:
                await cursor.execute("SELECT oid, relname FROM pg_class WHERE oid = %s", (oids[index % len(oids)],))
                return await cursor.fetchall()

        print(json.dumps({"driver": f"psycopg {psycopg.__version__}", **await _measure(psycopg_one, statements)}))
    finally:
        await connection.close()

    native = await asyncpg.connect(url)
    try:

        async def asyncpg_one(index: int) -> object:
            return await native.fetch("SELECT oid, relname FROM pg_class WHERE oid = $1", oids[index % len(oids)])

        print(json.dumps({"driver": f"asyncpg {asyncpg.__version__}", **await _measure(asyncpg_one, statements)}))
    finally:
        await native.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--statements", type=int, default=5000)
    args = parser.parse_args(argv)
    uvloop.run(main_async(args.url, args.statements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
