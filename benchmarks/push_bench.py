"""Client push benchmark (issue 16): `modelreg push` of a 1 GiB file against the server's own upload throughput,
measured in the same run on the same server.

Run from the project root (see docs/benchmarks.md)::

    .venv/bin/python benchmarks/push_bench.py                     # 1 GiB, 3 tries each, local store
    .venv/bin/python benchmarks/push_bench.py --size-mib 256 --repeat 5

Starts a real server (SQLite, local store) and alternates, ``--repeat`` times: the server's upload throughput (curl,
or httpx without it, streaming the file to ``PUT /api/artifacts/blobs`` with its digest stated, as
benchmarks/artifact_bench.py measures it) and a whole `modelreg push FILE --name ...` in its own process (start-up,
sha256 of the file, the stored-content check, the streamed upload, the registration; wall time). The blob is
deleted before every try, so each one uploads. The client's memory: its peak resident size (``wait4``) pushing the
big file, less its peak pushing a 1-byte file (start-up and imports); its CPU time too. Prints one JSON object; exits 1 when a push
fails or a target is missed (push at least 80% of the server's upload throughput, client memory growth under
64 MiB).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from benchmarks.artifact_bench import forget_local_blob, make_file, transfer  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

MIB = 1024 * 1024
TARGET_RATIO = 0.8
TARGET_GROWTH_MIB = 64


def digest_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(8 * MIB):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


def push(server: LiveServer, token: str, path: Path, name: str) -> tuple[float, float, float, dict]:
    """(seconds, peak resident MiB, CPU seconds, the command's JSON) of one `modelreg push` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "CI"))}
    env.update({"MODELREG_URL": server.url, "MODELREG_TOKEN": token})
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "modelreg_client.cli", "push", str(path), "--name", name,
                                "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    output, errors = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"modelreg push failed ({process.returncode}): {errors.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, json.loads(output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", default=None, help="where the server keeps its data (default: a temp dir)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelreg-push-bench-", dir=args.data_dir))
    try:
        big, tiny = work / "model.bin", work / "tiny.bin"
        make_file(big, args.size_mib)
        tiny.write_bytes(b"x")
        digest = digest_of(big)
        (work / "server").mkdir()
        server = LiveServer(work / "server", f"sqlite:///{work / 'registry.db'}")
        try:
            token = mint_token(server.data_dir, subject="bench-ci", roles=["ci"], audience="modelreg",
                               ttl_seconds=7200, service=True)
            _, baseline_rss, baseline_cpu, _ = push(server, token, tiny, "bench/tiny")
            server_rates, push_rates, peaks, cpu = [], [], [], []
            upload_url = f"{server.url}/api/artifacts/blobs?digest={digest}"
            for attempt in range(args.repeat):
                status, _, seconds = transfer("PUT", upload_url, token, big)
                if status != 201:
                    raise SystemExit(f"the server's upload answered {status}")
                server_rates.append(args.size_mib / seconds)
                forget_local_blob(server, digest)
                seconds, peak, used, pushed = push(server, token, big, f"bench/push-{attempt}")
                if pushed["skippedFiles"] != 0:
                    raise SystemExit("the push skipped the file: the blob was not deleted")
                push_rates.append(args.size_mib / seconds)
                peaks.append(peak)
                cpu.append(used)
                forget_local_blob(server, digest)
                print(f"try {attempt + 1}: server {server_rates[-1]:.0f} MiB/s, push {push_rates[-1]:.0f} MiB/s, "
                      f"client peak {peak:.0f} MiB", file=sys.stderr, flush=True)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ratio_median = statistics.median(push_rates) / statistics.median(server_rates)
    growth = max(peaks) - baseline_rss
    result = {
        "benchmark": "client push",
        "size_mib": args.size_mib,
        "repeat": args.repeat,
        "server_client": "curl" if shutil.which("curl") else "httpx",
        "server_upload_mib_s": [round(rate) for rate in server_rates],
        "push_mib_s": [round(rate) for rate in push_rates],
        "ratio_median": round(ratio_median, 2),
        "ratio_best": round(max(push_rates) / max(server_rates), 2),
        "client_cpu_s": [round(seconds, 2) for seconds in cpu],
        "client_start_cpu_s": round(baseline_cpu, 2),
        "client_peak_rss_mib": round(max(peaks), 1),
        "client_baseline_rss_mib": round(baseline_rss, 1),
        "client_rss_growth_mib": round(growth, 1),
        "targets": {"ratio": TARGET_RATIO, "growth_mib": TARGET_GROWTH_MIB},
        "ok": ratio_median >= TARGET_RATIO and growth < TARGET_GROWTH_MIB,
    }
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
