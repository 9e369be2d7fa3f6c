"""A real MLflow tracking server (``mlflow server``, the pinned test dependency) on a free loopback port, with its
own SQLite backend and artifact folder, serving artifacts through its proxy (``mlflow-artifacts:``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.live_server import ServerProcess, free_port


class MlflowServer(ServerProcess):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MODELREG_"))}
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                   "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                   "--artifacts-destination", str(root / "artifacts")]
        # Its first start creates and migrates its database: tens of seconds on a busy machine.
        super().__init__(command, env, root / "mlflow-server.log", f"{self.url}/health", timeout=120, cwd=root)
