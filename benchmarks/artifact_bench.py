"""Artifact transfer benchmark: a 1 GiB file through the HTTP endpoints, on the local store and on Azurite.

Run from the project root (see docs/benchmarks.md)::

    .venv/bin/python benchmarks/artifact_bench.py                 # both stores, 1 GiB
    .venv/bin/python benchmarks/artifact_bench.py --store local --size-mib 256

Prints JSON lines: the machine's raw limit measured in this run (read the file and sha256 it in one
process), then per store the upload and download throughput in MB/s (MiB/s), their ratio to the raw limit,
and the server's resident memory growth during each transfer. The client is curl when present (a C client
takes little CPU from the server on a 2-core machine), else httpx. Exits 1 when a transfer fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
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
from tests.support.azurite import Azurite  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

MIB = 1024 * 1024


def make_file(path: Path, size_mib: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "wb") as handle:
        for _ in range(size_mib):
            block = os.urandom(MIB)
            hasher.update(block)
            handle.write(block)
    return "sha256:" + hasher.hexdigest()


def raw_limit(path: Path) -> float:
    """MiB/s for reading the file and hashing it with sha256 in one process: what any upload must also do."""
    started, hasher = time.perf_counter(), hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            hasher.update(chunk)
    return path.stat().st_size / MIB / (time.perf_counter() - started)


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


def run_store(name: str, server: LiveServer, data: Path, digest: str, size_mib: int, raw: float) -> bool:
    token = mint_token(server.data_dir, subject="bench", roles=["mlops"], audience="modelreg")
    ok = True
    with RssSampler(server.process.pid) as memory:
        status, _, seconds = transfer("PUT", f"{server.url}/api/artifacts/blobs?digest={digest}", token, data)
    ok &= status == 201
    rate = size_mib / seconds
    print(json.dumps({"store": name, "operation": "upload", "size_mib": size_mib, "status": status,
                      "mib_per_s": round(rate), "ratio_to_raw": round(rate / raw, 2),
                      "server_rss_growth_mib": memory.growth_mib}), flush=True)
    registered = httpx.post(f"{server.url}/graphql", headers={"Authorization": f"Bearer {token}"}, json={
        "query": "mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { modelVersion { uri } } }",
        "variables": {"i": {"name": "bench/big", "createModelIfMissing": True,
                            "files": [{"path": "weights.bin", "digest": digest}]}}}, timeout=60).json()
    ok &= "errors" not in registered
    with RssSampler(server.process.pid) as memory:
        status, received, seconds = transfer(
            "GET", f"{server.url}/api/artifacts/files?uri=models:/bench/big/1&path=weights.bin", token, None)
    ok &= status == 200 and received == size_mib * MIB
    rate = size_mib / seconds
    print(json.dumps({"store": name, "operation": "download", "size_mib": size_mib, "status": status,
                      "mib_per_s": round(rate), "ratio_to_raw": round(rate / raw, 2),
                      "server_rss_growth_mib": memory.growth_mib}), flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["local", "azure", "both"], default="both")
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="modelreg-artifact-bench-"))
    ok = True
    try:
        data = work / "weights.bin"
        digest = make_file(data, args.size_mib)
        raw = raw_limit(data)
        print(json.dumps({"raw_limit_mib_per_s": round(raw), "size_mib": args.size_mib,
                          "client": "curl" if shutil.which("curl") else "httpx"}), flush=True)
        stores = ["local", "azure"] if args.store == "both" else [args.store]
        for name in stores:
            server_dir = work / name
            server_dir.mkdir()
            env, azurite = {}, None
            if name == "azure":
                azurite = Azurite(server_dir / "azurite")
                env = {"MODELREG_ARTIFACT_STORE": "azure://bench",
                       "MODELREG_AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
            server = LiveServer(server_dir, f"sqlite:///{server_dir / 'bench.db'}", env)
            try:
                ok &= run_store(name, server, data, digest, args.size_mib, raw)
            finally:
                server.stop()
                if azurite:
                    azurite.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
