"""Replicas behind a real load balancer on loopback: N ``modelreg serve`` processes (one process each, so SIGKILL
takes a whole replica down), a ``modelreg worker`` delivering webhooks, and HAProxy (Debian's package) in front,
health-checking /readyz. For the scale-out test (tests/operations/test_scale_out.py) and its benchmark
(benchmarks/scale_out_bench.py).

All replicas share the database, the artifact store and the data directory (the development issuer's signing key
and the webhook secrets' key live there), as replicas behind one address must.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


class HaproxyMissing(RuntimeError):
    pass


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise HaproxyMissing("HAProxy is needed: apt-get install haproxy (./dev test installs it)")
    return found


def _wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready in {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


class Process:
    """A child process writing to a log file in ``folder``."""

    def __init__(self, name: str, folder: Path, args: list[str], env: dict[str, str]) -> None:
        self.name, self.folder, self.args, self.env = name, folder, args, env
        self.log_path = folder / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - open while the process runs, closed by stop()
        self.process = subprocess.Popen(
            self.args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, connections and transactions cut as a crash cuts them."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Replica(Process):
    """``modelreg serve`` on a fixed loopback port (a restart comes back on the same one)."""

    def __init__(self, name: str, folder: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            name,
            folder,
            [sys.executable, "-m", "app", "serve"],
            {**env, "MODELREG_PORT": str(self.port), "MODELREG_WORKERS": "1"},
        )

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        super().start()

    def wait_ready(self) -> None:
        assert self.process is not None
        _wait_http(f"{self.url}/readyz", self.process, self.log_path)


def haproxy_config(port: int, replicas: list[Replica]) -> str:
    """deploy/haproxy/haproxy.cfg, the documented configuration, listening on loopback ``port`` with ``replicas``
    as its servers."""
    lines = []
    for line in DEPLOYED_CONFIG.read_text().splitlines():
        if line.strip().startswith("server "):
            continue
        lines.append(f"  bind 127.0.0.1:{port}" if line.strip().startswith("bind ") else line)
    lines += [f"  server {replica.name} 127.0.0.1:{replica.port} check" for replica in replicas]
    return "\n".join(lines) + "\n"


class Haproxy(Process):
    """HAProxy with deploy/haproxy/haproxy.cfg: round robin over the replicas, /readyz checked every 500 ms (down
    after 2 failures, up after 2 successes), a refused connection retried on another replica (``option redispatch``:
    only connection failures are retried, so no request is ever sent twice), WebSockets tunnelled."""

    def __init__(self, folder: Path, replicas: list[Replica]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "haproxy.cfg"
        config.write_text(haproxy_config(self.port, replicas))
        super().__init__("haproxy", folder, [haproxy_binary(), "-db", "-f", str(config)], dict(os.environ))

    def start(self) -> None:
        super().start()
        assert self.process is not None
        _wait_http(f"{self.url}/readyz", self.process, self.log_path)


class Cluster:
    """``replicas`` servers, one webhook worker and HAProxy over one database and artifact store."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        store_env: dict[str, str],
        replicas: int = 2,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.data_dir = folder / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "OTEL_", "PROMETHEUS_"))}
        if not store_env.get("MODELREG_ARTIFACT_STORE"):  # the local store: one folder for every replica
            store_env = {"MODELREG_ARTIFACT_STORE": (folder / "artifacts").resolve().as_uri()}
        env.update(
            {
                "MODELREG_DATA_DIR": str(self.data_dir),
                "MODELREG_DATABASE_URL": database_url,
                "MODELREG_DISPATCHER": "false",
                "MODELREG_WEBHOOK_ALLOW_PRIVATE": "true",
                "MODELREG_LOG_LEVEL": "WARNING",
                **store_env,
                **(extra_env or {}),
            }
        )
        self.env = env
        self.replicas = [Replica(f"replica-{index}", folder, env) for index in range(replicas)]
        self.worker = Process("worker", folder, [sys.executable, "-m", "app", "worker"], env)
        self.haproxy = Haproxy(folder, self.replicas)

    @property
    def url(self) -> str:
        return self.haproxy.url

    def start(self) -> None:
        try:
            for replica in self.replicas:  # started together, ready in about 2 s
                replica.spawn()
            self.worker.start()
            for replica in self.replicas:
                replica.wait_ready()
            self.haproxy.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in (self.haproxy, self.worker, *self.replicas):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-2000:]}" for p in (self.haproxy, self.worker, *self.replicas))

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
