"""Web console benchmark: the catalogue's first page, interactive, with 2,000 models x 10 versions seeded.

Seeds a fresh SQLite registry (benchmarks/seed.py), starts a real server, and times headless Chromium from
navigation start until the first page of models is drawn and its first link takes focus
(benchmarks/console_first_page.mjs), in fresh browser contexts. Needs the console built (`./dev setup`).

    .venv/bin/python benchmarks/console_bench.py [--models 2000] [--runs 5]

Prints one JSON line: the seed and the timings (ms); the target (issue 17) is under 1,000 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from benchmarks.seed import seed  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="modelreg-console-bench-") as work:
        work_dir = Path(work)
        with fresh_database(work_dir, "bench", "") as url:
            seeded = seed(url, models=args.models)
            (work_dir / "data").mkdir()
            server = LiveServer(work_dir / "data", url)
            try:
                token = mint_token(work_dir / "data", subject="bench", roles=["data-scientist"], audience="modelreg")
                done = subprocess.run(["node", str(ROOT / "benchmarks" / "console_first_page.mjs"), server.url, token,
                                       str(args.runs)], capture_output=True, text=True, timeout=600, check=False)
            finally:
                server.stop()
    if done.returncode != 0:
        print(done.stdout, done.stderr, file=sys.stderr)
        return 1
    timings = json.loads(done.stdout)
    values = [t["interactiveMs"] for t in timings]
    print(json.dumps({"seed": seeded.summary(), "runs": timings, "first_ms": values[0],
                      "median_ms": statistics.median(values), "max_ms": max(values)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
