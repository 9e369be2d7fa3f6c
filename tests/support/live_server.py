"""A real ``modelreg serve`` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server run as a child process with its output in ``log_path``, ready once ``ready_url`` answers 200."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, ready_url: str,
                 timeout: float = 60, cwd: Path | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        self._wait_ready(ready_url, timeout)

    def _wait_ready(self, ready_url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10) -> str:
        """The log once it contains ``text`` (the server writes some lines just after responding)."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the server log within {timeout}s:\n{log[-3000:]}")
            time.sleep(0.05)
        return log

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


class LiveServer(ServerProcess):
    def __init__(self, data_dir: Path, database_url: str, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
        env.update({"MODELREG_DATA_DIR": str(data_dir), "MODELREG_DATABASE_URL": database_url,
                    "MODELREG_PORT": str(self.port), "MODELREG_WORKERS": "1", **(extra_env or {})})
        super().__init__([sys.executable, "-m", "app", "serve"], env, data_dir / f"server-{self.port}.log",
                         f"{self.url}/readyz")
