"""Browser checks: Debian's Chromium driven by playwright-core through a Node script in tests/js/ that prints a
JSON report. Missing tools are a failure with what to do, never a skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "app" / "web" / "vendor"
CHROMIUM = os.environ.get("MODELREG_CHROMIUM", "/usr/bin/chromium")
DRIVER_TIMEOUT_S = 120


def require_browser_tools(*vendor_files: str) -> None:
    """Fail with what to do when Node, Chromium, playwright-core or the built ``vendor_files`` are missing."""
    problems = []
    if not shutil.which("node"):
        problems.append("`node` is not on PATH (install Node.js 20)")
    if not Path(CHROMIUM).is_file():
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium, or set MODELREG_CHROMIUM)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        problems.append("node_modules/playwright-core is missing (run `npm ci`)")
    problems += [f"app/web/vendor/{name} is not built (run `npm ci` and `python scripts/build_web_assets.py`)"
                 for name in vendor_files if not (VENDOR / name).is_file()]
    if problems:
        pytest.fail("browser test cannot run:\n  " + "\n  ".join(problems), pytrace=False)


def drive(driver: str, base_url: str, token: str, screenshot: Path, *extra: str) -> dict[str, Any]:
    """Run tests/js/``driver`` and return its JSON report; fail with its output when it breaks."""
    command = ["node", str(ROOT / "tests" / "js" / driver), base_url, token, str(screenshot), *extra]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"browser driver timed out after {DRIVER_TIMEOUT_S}s\nstdout:\n{timeout.stdout}\n"
                    f"stderr:\n{timeout.stderr}\nscreenshot: {screenshot}")
    print(f"screenshot: {screenshot}")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"browser driver exited {done.returncode} without a report\nstdout:\n{done.stdout}\n"
                    f"stderr:\n{done.stderr}")
    assert report["ok"] and done.returncode == 0, (
        f"browser check failed at step after {report['steps']}: {report.get('error')}\n"
        f"page errors: {report.get('pageErrors')}\nconsole errors: {report.get('consoleErrors')}\n"
        f"screenshot: {screenshot}\nstderr:\n{done.stderr}")
    return report
