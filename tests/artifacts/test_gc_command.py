"""`modelreg artifacts gc` removes the partial temporary files a crash left (the issue's `--grace 0s` did not)."""

import json
import os
import time

import pytest

pytestmark = pytest.mark.backend_independent  # its own SQLite file and folder, not the suite's backends


def test_gc_command_removes_old_temporary_files_and_reports_them(modelreg, tmp_path):
    tmp = tmp_path / "artifacts" / "tmp"
    tmp.mkdir(parents=True)
    (tmp / "crashed").write_bytes(b"x" * 4096)
    (tmp / "in-flight").write_bytes(b"y" * 10)
    an_hour_ago = time.time() - 3600
    os.utime(tmp / "crashed", (an_hour_ago, an_hour_ago))
    dry = modelreg("artifacts", "gc", "--grace", "10m", "--dry-run", MODELREG_DATA_DIR=str(tmp_path))
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["temporary_deleted"] == ["tmp/crashed"] and report["temporary_bytes"] == 4096
    assert sorted(path.name for path in tmp.iterdir()) == ["crashed", "in-flight"]
    done = modelreg("artifacts", "gc", "--grace", "10m", MODELREG_DATA_DIR=str(tmp_path))
    assert json.loads(done.stdout)["temporary_deleted"] == ["tmp/crashed"]
    assert [path.name for path in tmp.iterdir()] == ["in-flight"]
