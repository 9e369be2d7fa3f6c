"""The README's "Registering from CI" recipes, run as written against a live server (issue 16). The curl recipe
used to exit 0 on GraphQL errors: with $GIT_COMMIT unset the server answers BAD_USER_INPUT, with an auditor's token
FORBIDDEN, both over HTTP 200; now jq fails the step with the code. The CLI is three lines; the library is shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.auth import dev_issuer

pytestmark = pytest.mark.e2e

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Registering from CI"):README.index("A deployment resolves what to serve")]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", SECTION, re.S)
README_URL = "http://127.0.0.1:8000"


def block(language: str, containing: str) -> str:
    (found,) = [text for lang, text in BLOCKS if lang == language and containing in text]
    return found


def token(server, sub: str, role: str) -> str:
    return dev_issuer.mint_token(server.data_dir, subject=sub, roles=[role], audience="modelreg", ttl_seconds=600,
                                 service=role == "ci")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.pkl").write_bytes(os.urandom(1000))
    (tmp_path / "card.md").write_text("# Churn\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "https://github.com/acme/churn.git"],
                   check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=ci", "-c", "user.email=ci@example.test", "commit",
                    "-q", "--allow-empty", "-m", "train"], check=True)
    return tmp_path


def shell(script: str, server, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "GIT_COMMIT", "CI"))}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base['PATH']}"  # the virtualenv's modelreg
    return subprocess.run(["bash", "-c", script.replace(README_URL, server.url)], env={**base, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("case", "role", "commit", "code"), [
    ("GIT_COMMIT unset", "ci", None, "BAD_USER_INPUT"),
    ("an auditor's token", "auditor", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "FORBIDDEN"),
])
def test_curl_recipe_fails_on_graphql_errors(live_server, case, role, commit, code):
    recipe = block("sh", "curl -sf")
    env = {"MODELREG_TOKEN": token(live_server, "someone", role)}
    if commit:
        env["GIT_COMMIT"] = commit
    done = shell(recipe, live_server, env)
    assert done.returncode != 0, (case, done.stdout)
    assert done.stderr.startswith(f"{code}: "), (case, done.stderr)


def test_curl_recipe_prints_the_uri(live_server):
    done = shell(block("sh", "curl -sf"), live_server, {"MODELREG_TOKEN": token(live_server, "ci-churn", "ci"),
                                                         "GIT_COMMIT": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"})
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"models:/demo/churn/\d+\n", done.stdout)


def test_cli_recipe_is_three_lines_and_pushes(live_server, checkout):
    lines = block("sh", "modelreg push").strip().splitlines()
    assert len(lines) == 3
    assert "./dev modelreg token" in lines[1]  # on PATH after ./dev setup: the README's own command
    done = shell(lines[2], live_server, {"MODELREG_URL": live_server.url,
                                         "MODELREG_TOKEN": token(live_server, "ci-churn", "ci")}, cwd=checkout)
    assert done.returncode == 0, done.stderr
    uri, staging, production = done.stdout.splitlines()
    assert re.fullmatch(r"models:/demo/churn/\d+", uri)
    assert "-> STAGING  APPLIED" in staging and "-> PRODUCTION  PENDING" in production


def test_library_recipe(live_server, checkout, monkeypatch, capsys):
    monkeypatch.chdir(checkout)
    monkeypatch.setenv("MODELREG_TOKEN", token(live_server, "ci-churn", "ci"))
    exec(compile(block("python", "modelreg_client").replace(README_URL, live_server.url), "README.md", "exec"), {})
    uri, roles = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"models:/demo/churn/\d+", uri) and roles == "['ci']"
