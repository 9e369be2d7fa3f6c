"""Artifact transfer benchmark: a 1 GiB file through the HTTP endpoints, on the local store and on Azurite.

Run from the project root (see docs/benchmarks.md)::

    .venv/bin/python benchmarks/artifact_bench.py                 # both stores, 1 GiB, best of 3
    .venv/bin/python benchmarks/artifact_bench.py --store local --size-mib 256 --repeat 5
    .venv/bin/python benchmarks/artifact_bench.py --store local --data-dir /dev/shm   # the disk taken out

Prints JSON lines. First the machine's limits measured in this run, each the best of ``--repeat`` tries: the raw
limit (read the file and sha256 it in one process) and the durable-write limit of the file system that holds the
servers' data (sha256 the file and write it there with fsync, in one process: what a durable local store must
do at least). Then, per store, the upload (fresh content each try), an upload of content already stored (the
digest stated), and the download, each with the best and median MiB/s of the tries, their ratios to the limits
and the server's peak resident memory growth. The client is curl when present (a C client takes little CPU from
the server on a 2-core machine), else httpx. Exits 1 when a transfer fails.
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
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from app.storage.local import LocalArtifactStore  # noqa: E402
from app.storage.writeback import WriteBehindFile  # noqa: E402
from tests.support.azurite import Azurite  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

MIB = 1024 * 1024
READ_BYTES = 8 * MIB


def make_file(path: Path, size_mib: int) -> None:
    with open(path, "wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MIB))


def vary(path: Path, attempt: int) -> str:
    """Make the file's content new for this attempt (its first 8 bytes) and return its digest."""
    with open(path, "r+b") as handle:
        handle.write(attempt.to_bytes(8, "big"))
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_BYTES):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def raw_limit(path: Path) -> float:
    """MiB/s for reading the file and hashing it with sha256 in one process: what any upload must also do."""
    started, hasher = time.perf_counter(), hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_BYTES):
            hasher.update(chunk)
    return path.stat().st_size / MIB / (time.perf_counter() - started)


def durable_write_limit(path: Path, folder: Path) -> float:
    """MiB/s for hashing the file and writing it durably into ``folder`` (written behind, then fsync) in one
    process: what the local store must do at least, on the file system that holds its data."""
    target = folder / "durable-write-probe"
    started, hasher = time.perf_counter(), hashlib.sha256()
    try:
        with open(path, "rb") as source, open(target, "xb") as handle:
            sink = WriteBehindFile(handle)
            while chunk := source.read(READ_BYTES):
                hasher.update(chunk)
                sink.write(chunk)
            sink.sync()
        return path.stat().st_size / MIB / (time.perf_counter() - started)
    finally:
        target.unlink(missing_ok=True)


class RssSampler:
    """Samples a process's resident set size every 20 ms; ``growth`` is the peak above the starting value."""

    def __init__(self, pid: int) -> None:
        self._path = Path(f"/proc/{pid}/status")
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        for line in self._path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.02)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return round((self.peak - self.start) / MIB, 1)


def transfer(method: str, url: str, token: str, upload: Path | None) -> tuple[int, int, float]:
    """(HTTP status, bytes received, seconds) of one request, streaming the body from ``upload``; what comes
    back is counted and dropped, so the client's disk is not part of the measure."""
    started = time.perf_counter()
    if shutil.which("curl"):
        command = ["curl", "-s", "-o", os.devnull, "-w", "%{http_code} %{size_download}",
                   "-H", f"Authorization: Bearer {token}", "-H", "Expect:", "-X", method, url]
        if upload is not None:
            command[1:1] = ["-T", str(upload)]
        status, received = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
        return int(status), int(received), time.perf_counter() - started
    received = 0
    with open(upload, "rb") if upload else open(os.devnull, "rb") as body, \
            httpx.stream(method, url, content=body if upload else None, timeout=600,
                         headers={"Authorization": f"Bearer {token}"}) as response:
        for chunk in response.iter_bytes(MIB):
            received += len(chunk)
    return response.status_code, received, time.perf_counter() - started


def forget_local_blob(server: LiveServer, digest: str) -> None:
    """Delete a try's blob so every try starts alike. Kept, each new GiB of file content takes memory the
    machine never used before; on the development VM (virtio balloon and memory devices) that made the kernel's
    socket receive path three times as costly from the second try on, a cost of the VM's memory, not of the
    server."""
    LocalArtifactStore(server.data_dir / "artifacts").path_of(digest).unlink()


class Tries:
    """The outcome of repeated transfers of one kind: all must succeed; rates summarised as best and median."""

    def __init__(self, store: str, operation: str, size_mib: int) -> None:
        self.store, self.operation, self.size_mib = store, operation, size_mib
        self.rates: list[float] = []
        self.memory: list[float] = []
        self.statuses: list[int] = []

    def add(self, status: int, seconds: float, memory: RssSampler) -> None:
        self.statuses.append(status)
        self.rates.append(self.size_mib / seconds)
        self.memory.append(memory.growth_mib)

    def report(self, limits: dict[str, float]) -> None:
        best, median = max(self.rates), statistics.median(self.rates)
        line = {"store": self.store, "operation": self.operation, "size_mib": self.size_mib,
                "tries": len(self.rates), "statuses": sorted(set(self.statuses)),
                "mib_per_s_best": round(best), "mib_per_s_median": round(median),
                "mib_per_s_each": [round(rate) for rate in self.rates]}
        for name, limit in limits.items():
            line[f"ratio_to_{name}_best"] = round(best / limit, 2)
            line[f"ratio_to_{name}_median"] = round(median / limit, 2)
        line["server_rss_growth_mib_max"] = max(self.memory)
        print(json.dumps(line), flush=True)


def run_store(name: str, server: LiveServer, data: Path, size_mib: int, repeat: int,
              limits: dict[str, float]) -> bool:
    token = mint_token(server.data_dir, subject="bench", roles=["mlops"], audience="modelreg")
    blobs = f"{server.url}/api/artifacts/blobs"
    fresh, again = Tries(name, "upload", size_mib), Tries(name, "upload_stored_content", size_mib)
    for attempt in range(repeat):
        digest = vary(data, attempt)
        with RssSampler(server.process.pid) as memory:
            status, _, seconds = transfer("PUT", f"{blobs}?digest={digest}", token, data)
        fresh.add(status, seconds, memory)
        with RssSampler(server.process.pid) as memory:
            status, _, seconds = transfer("PUT", f"{blobs}?digest={digest}", token, data)
        again.add(status, seconds, memory)
        if name == "local" and attempt < repeat - 1:
            forget_local_blob(server, digest)
    # the raw limit is what the whole upload must do; the durable-write limit binds only the local store's writes
    fresh.report(limits if name == "local" else {"raw": limits["raw"]})
    again.report({"raw": limits["raw"]})
    registered = httpx.post(f"{server.url}/graphql", headers={"Authorization": f"Bearer {token}"}, json={
        "query": "mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { modelVersion { uri } } }",
        "variables": {"i": {"name": "bench/big", "createModelIfMissing": True,
                            "files": [{"path": "weights.bin", "digest": digest}]}}}, timeout=60).json()
    download = Tries(name, "download", size_mib)
    received_all = True
    for _ in range(repeat):
        with RssSampler(server.process.pid) as memory:
            status, received, seconds = transfer(
                "GET", f"{server.url}/api/artifacts/files?uri=models:/bench/big/1&path=weights.bin", token, None)
        download.add(status, seconds, memory)
        received_all &= received == size_mib * MIB
    download.report({"raw": limits["raw"]})
    return ("errors" not in registered and received_all and set(fresh.statuses) == set(again.statuses) == {201}
            and set(download.statuses) == {200})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["local", "azure", "both"], default="both")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="tries of each measure (best and median reported)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the servers keep their data (default: the system's temporary folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="modelreg-artifact-bench-"))
    servers_root = Path(tempfile.mkdtemp(prefix="modelreg-artifact-bench-", dir=args.data_dir))
    ok = True
    try:
        data = work / "weights.bin"
        make_file(data, args.size_mib)
        limits = {"raw": max(raw_limit(data) for _ in range(args.repeat)),
                  "durable_write": max(durable_write_limit(data, servers_root) for _ in range(args.repeat))}
        print(json.dumps({"raw_limit_mib_per_s": round(limits["raw"]),
                          "durable_write_limit_mib_per_s": round(limits["durable_write"]),
                          "data_dir": str(servers_root), "size_mib": args.size_mib, "repeat": args.repeat,
                          "client": "curl" if shutil.which("curl") else "httpx"}), flush=True)
        stores = ["local", "azure"] if args.store == "both" else [args.store]
        for name in stores:
            server_dir = servers_root / name
            server_dir.mkdir()
            env, azurite = {}, None
            if name == "azure":
                azurite = Azurite(server_dir / "azurite")
                env = {"MODELREG_ARTIFACT_STORE": "azure://bench",
                       "MODELREG_AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
            server = LiveServer(server_dir, f"sqlite:///{server_dir / 'bench.db'}", env)
            try:
                ok &= run_store(name, server, data, args.size_mib, args.repeat, limits)
            finally:
                server.stop()
                if azurite:
                    azurite.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(servers_root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
