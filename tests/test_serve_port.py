"""``modelreg serve`` on a port that is taken (issue 20, point 9): one clear line on stderr, no banner, a non-zero
exit, in a process of its own as an operator would run it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.backend_independent


def serve(tmp_path, port: int, host: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
    env = {**clean, "MODELREG_DATA_DIR": str(tmp_path), "MODELREG_PORT": str(port), "MODELREG_HOST": host}
    return subprocess.run([sys.executable, "-m", "app", "serve"], capture_output=True, text=True, timeout=60,
                          env=env, stdin=subprocess.DEVNULL)


def test_a_taken_port_stops_with_one_line_and_no_banner(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve(tmp_path, port)
    assert done.returncode == 3, done
    assert done.stderr.strip().splitlines() == [
        f"modelreg: cannot listen on 127.0.0.1:{port}: address already in use (set MODELREG_PORT)"
    ], done.stderr
    assert "GraphiQL" not in done.stderr + done.stdout


def test_an_address_the_machine_does_not_have_is_named_too(tmp_path):
    done = serve(tmp_path, 8123, host="192.0.2.1")  # TEST-NET-1: never assigned to this machine
    assert done.returncode == 3, done
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("modelreg: cannot listen on 192.0.2.1:8123: ") and "MODELREG_HOST" in line, line
