"""Client push benchmark (issue 16): `modelreg push` of a 1 GiB file against the server's own upload throughput,
measured in the same run on the same server.

Run from the project root (see docs/benchmarks.md)::

    .venv/bin/python benchmarks/push_bench.py                     # 1 GiB, 3 tries each, local store
    .venv/bin/python benchmarks/push_bench.py --size-mib 256 --repeat 5
    .venv/bin/python benchmarks/push_bench.py --store azure       # Azurite: the push goes straight to storage

Starts a real server (SQLite, a local store or Azurite) and alternates, ``--repeat`` times: the server's upload
throughput (curl, or httpx without it, streaming the file to ``PUT /api/artifacts/blobs`` with its digest stated,
as benchmarks/artifact_bench.py measures it) and a whole `modelreg push FILE --name ...` in its own process
(start-up, the staged-upload probe, the streamed upload, the registration; wall time). The blob is deleted before
every try, so each one uploads. On Azure (``--store azure``) the push sends the file straight to storage through a
staged upload; with ``--wait`` it waits until the server has verified it (read it back, hashed it, moved it) and
the version is READY. The client's memory: its peak resident size (VmHWM, sampled) pushing the big file, less its
peak pushing a 1-byte file (start-up and imports); its CPU time too. Prints one JSON object; exits 1 when a push fails
or a target is missed (push at least 80% of the server's upload throughput, client memory growth under 64 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from app.storage.azure import AzureArtifactStore  # noqa: E402
from benchmarks.artifact_bench import forget_local_blob, make_file, transfer  # noqa: E402
from tests.support.azurite import Azurite  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

MIB = 1024 * 1024
TARGET_RATIO = 0.8
TARGET_GROWTH_MIB = 64
CONTAINER = "bench"


def digest_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(8 * MIB):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


def peak_resident_mib(pid: int, done: threading.Event, found: list[float]) -> None:
    """Samples the process's own high-water mark (VmHWM, of its memory after exec) until ``done``. wait4's
    ru_maxrss will not do: Linux carries the parent's resident size at fork across exec into it."""
    while not done.is_set():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                found.append(int(line.split()[1]) / 1024)
        done.wait(0.01)


def push(server: LiveServer, token: str, path: Path, name: str, *extra: str) -> tuple[float, float, float, dict]:
    """(seconds, peak resident MiB, CPU seconds, the command's JSON) of one `modelreg push` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "CI"))}
    env.update({"MODELREG_URL": server.url, "MODELREG_TOKEN": token, "MODELREG_POLL_INTERVAL": "0.1"})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "modelreg_client.cli", "push", str(path), "--name", name,
                                "--json", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done, peaks = threading.Event(), [0.0]
    sampler = threading.Thread(target=peak_resident_mib, args=(process.pid, done, peaks), daemon=True)
    sampler.start()
    output, errors = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"modelreg push failed ({process.returncode}): {errors.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the one child reaped since ``before``
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, max(peaks), cpu, json.loads(output)


def forget_blob(server: LiveServer, digest: str, azure: Azurite | None) -> None:
    """Deletes the stored content, so the next try uploads it again."""
    if azure is None:
        forget_local_blob(server, digest)
        return
    store = AzureArtifactStore(container=CONTAINER, connection_string=azure.connection_string)

    async def delete() -> None:
        await store.delete(digest)
        await store.close()

    asyncio.run(delete())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", default=None, help="where the server keeps its data (default: a temp dir)")
    parser.add_argument("--store", choices=["local", "azure"], default="local")
    parser.add_argument("--wait", action="store_true", help="push with --wait: until the version is READY")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelreg-push-bench-", dir=args.data_dir))
    try:
        big, tiny = work / "model.bin", work / "tiny.bin"
        make_file(big, args.size_mib)
        tiny.write_bytes(b"x")
        digest = digest_of(big)
        (work / "server").mkdir()
        azure = Azurite(work / "azurite") if args.store == "azure" else None
        env = {"MODELREG_ARTIFACT_STORE": f"azure://{CONTAINER}",
               "MODELREG_AZURE_STORAGE_CONNECTION_STRING": azure.connection_string} if azure else {}
        server = LiveServer(work / "server", f"sqlite:///{work / 'registry.db'}", env)
        wait = ("--wait", "--timeout", "600") if args.wait else ()
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
                forget_blob(server, digest, azure)
                seconds, peak, used, pushed = push(server, token, big, f"bench/push-{attempt}", *wait)
                if pushed["skippedFiles"] != 0:
                    raise SystemExit("the push skipped the file: the blob was not deleted")
                push_rates.append(args.size_mib / seconds)
                peaks.append(peak)
                cpu.append(used)
                forget_blob(server, digest, azure)
                print(f"try {attempt + 1}: server {server_rates[-1]:.0f} MiB/s, push {push_rates[-1]:.0f} MiB/s, "
                      f"client peak {peak:.0f} MiB", file=sys.stderr, flush=True)
        finally:
            server.stop()
            if azure:
                azure.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ratio_median = statistics.median(push_rates) / statistics.median(server_rates)
    growth = max(peaks) - baseline_rss
    result = {
        "benchmark": "client push",
        "store": args.store,
        "push_waits_for_ready": args.wait,
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
