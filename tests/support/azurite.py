"""Azurite (the Azure Blob Storage emulator from npm) on a free loopback port, for tests of the Azure store.

Azurite comes from the project's package.json (``npm ci`` installs it). A missing Azurite is an error, never a
reason to skip: CI must run the Azure tests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
AZURITE_BLOB = ROOT / "node_modules" / ".bin" / "azurite-blob"
# The emulator's published development account (https://learn.microsoft.com/azure/storage/common/storage-use-azurite).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Azurite:
    """One ``azurite-blob`` process with its own data folder; ``connection_string`` reaches it."""

    def __init__(self, location: Path) -> None:
        if not AZURITE_BLOB.exists():
            raise RuntimeError(f"Azurite is not installed ({AZURITE_BLOB} is missing): run `npm ci` in {ROOT}. "
                               "The Azure storage tests need it and are never skipped.")
        if shutil.which("node") is None:
            raise RuntimeError("Azurite needs Node.js on PATH (node was not found)")
        self.location = location
        self.location.mkdir(parents=True, exist_ok=True)
        self.log_path = location / "azurite.log"
        for _ in range(3):  # the free port may be taken by someone else before Azurite binds it
            self.port = free_port()
            self.endpoint = f"http://127.0.0.1:{self.port}/{ACCOUNT}"
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [str(AZURITE_BLOB), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                     "--location", str(location), "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=location)
            if self._wait_ready():
                return
        raise RuntimeError(f"Azurite did not start:\n{self.log()}")

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.endpoint};")

    def _wait_ready(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                httpx.get(f"{self.endpoint}?comp=list", timeout=1)  # any HTTP answer (403 here) means it serves
                return True
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running_azurite(location: Path) -> Iterator[Azurite]:
    """Azurite for the duration of the block, storing its data in ``location``."""
    server = Azurite(location)
    try:
        yield server
    finally:
        server.stop()
