"""action.yml, the GitHub Actions composite action: its push step's script, run as the runner would (inputs in
the step's environment, GITHUB_OUTPUT), against a live server; a refused push fails the step with its exit code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.auth import dev_issuer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([a-z]+)\s*\}\}")


def step_environment(step: dict, inputs: dict[str, str]) -> dict[str, str]:
    """The step's env as the runner evaluates it: `${{ inputs.x }}` is the input given, else its default."""
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()} | inputs
    return {key: EXPRESSION.sub(lambda m: values[m.group(1)], str(value)) for key, value in step["env"].items()}


def run_push_step(inputs: dict[str, str], token: str, workspace: Path) -> tuple[subprocess.CompletedProcess, str]:
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == "push"]
    outputs = workspace / "github-output"
    outputs.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "ACTIONS_ID_TOKEN"))}
    env.update(step_environment(step, {"python": sys.executable, **inputs}))
    env.update({"MODELREG_TOKEN": token, "GITHUB_OUTPUT": str(outputs), "GITHUB_ACTION_PATH": str(ROOT),
                "CI": "true"})
    done = subprocess.run(["bash", "-c", step["run"]], env=env, cwd=workspace, capture_output=True, text=True,
                          timeout=120)
    return done, outputs.read_text()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository with a trained model, as after actions/checkout."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.onnx").write_bytes(b"onnx weights from the workflow")
    (tmp_path / "card.md").write_text("# Fraud scorer\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "https://github.com/acme/fraud-model"],
                   check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=gha", "-c", "user.email=gha@example.test", "commit",
                    "-q", "--allow-empty", "-m", "train"], check=True)
    return tmp_path


def test_the_action_is_composite_and_documents_its_inputs():
    assert ACTION["runs"]["using"] == "composite"
    assert {name for name, spec in ACTION["inputs"].items() if spec.get("required")} == {"url", "path", "name"}
    assert all(spec.get("description") for spec in ACTION["inputs"].values())
    assert ACTION["outputs"]["uri"]["value"] == "${{ steps.push.outputs.uri }}"
    install = ACTION["runs"]["steps"][0]["run"]
    assert '"$GITHUB_ACTION_PATH/client"' in install  # the client of the same checkout as the action


def test_push_step_registers_and_sets_the_uri_output(live_server, workspace):
    ci = dev_issuer.mint_token(live_server.data_dir, subject="gha-fraud", roles=["ci"], audience="modelreg",
                               ttl_seconds=600, service=True)
    done, outputs = run_push_step({"url": live_server.url, "path": "model/", "name": "gha/action",
                                   "request": "STAGING", "args": "--metric auc=0.93 --document MODEL_CARD=card.md"},
                                  ci, workspace)
    assert done.returncode == 0, done.stderr
    assert outputs == "uri=models:/gha/action/1\n"
    assert "registered models:/gha/action/1" in done.stdout


def test_a_refused_push_fails_the_step_with_its_exit_code(live_server, workspace):
    auditor = dev_issuer.mint_token(live_server.data_dir, subject="audrey", roles=["auditor"], audience="modelreg",
                                    ttl_seconds=600)
    done, outputs = run_push_step({"url": live_server.url, "path": "model/", "name": "gha/refused"}, auditor,
                                  workspace)
    assert done.returncode == 4 and "FORBIDDEN" in done.stderr
    assert outputs == ""
