"""Pieces of the client that need no server: progress display, the parsing of push options, the token sources
that read the environment or a file, the error-to-exit-code table."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import pytest
from modelreg_client import auth, progress
from modelreg_client.errors import CODES, ExitCode, ModelregError
from modelreg_client.push import dataset, https_remote, run

pytestmark = pytest.mark.backend_independent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_is_silent_otherwise(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    terminal = Terminal()
    assert progress.wanted(terminal) and not progress.wanted(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not progress.wanted(terminal)

    bar = progress.Progress("push m", 4 * 1024 * 1024, enabled=True, stream=terminal)
    bar.advance(4 * 1024 * 1024)
    bar.close()
    drawn = terminal.getvalue()
    assert drawn.startswith("\rpush m [##############################] 100% 4.0 MiB of 4.0 MiB")
    assert drawn.endswith("\n")
    quiet = io.StringIO()
    silent = progress.Progress("push m", 10, enabled=False, stream=quiet)
    silent.advance(10)
    silent.close()
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(("remote", "url"), [
    ("git@github.com:acme/churn.git", "https://github.com/acme/churn"),
    ("https://token:x-oauth@github.com/acme/churn.git", "https://github.com/acme/churn"),
    ("https://gitlab.example.com/ml/churn", "https://gitlab.example.com/ml/churn"),
])
def test_git_remotes_become_https_urls_without_credentials(remote, url):
    assert https_remote(remote) == url


def test_push_option_parsing():
    assert dataset("events@v3=s3://lake/v3") == {"dataset": {"name": "events", "version": "v3", "uri": "s3://lake/v3"}}
    assert dataset("events@v3") == {"dataset": {"name": "events", "version": "v3"}}
    assert run("MLflow:8f2c") == {"tracker": "MLFLOW", "runId": "8f2c"}
    for bad, parse in [("events", dataset), ("neptune:1", run), ("mlflow:", run)]:
        with pytest.raises(ModelregError) as refused:
            parse(bad)
        assert refused.value.exit_code == ExitCode.BAD_USER_INPUT


def test_token_sources_in_order(monkeypatch, tmp_path):
    for name in ("MODELREG_TOKEN", "MODELREG_TOKEN_FILE", "ACTIONS_ID_TOKEN_REQUEST_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODELREG_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ModelregError) as none:
        auth.resolve_token()
    assert none.value.exit_code == ExitCode.UNAUTHENTICATED and "modelreg login" in none.value.message

    auth.save_login({"access_token": "saved", "expires_in": 3600}, "https://idp")
    assert auth.resolve_token() == "saved"
    (tmp_path / "login.json").write_text(json.dumps({"access_token": "old", "expires_at": time.time() - 1}))
    with pytest.raises(ModelregError):
        auth.resolve_token()  # an expired saved token is not used

    (tmp_path / "token").write_text("from-file\n")
    assert auth.resolve_token(str(tmp_path / "token")) == "from-file"
    with pytest.raises(ModelregError) as missing:
        auth.resolve_token(str(tmp_path / "nothing"))
    assert missing.value.exit_code == ExitCode.BAD_USER_INPUT
    monkeypatch.setenv("MODELREG_TOKEN", " from-env ")
    assert auth.resolve_token(str(tmp_path / "token")) == "from-env"


def test_every_server_code_has_an_exit_code():
    server_codes = {"BAD_USER_INPUT", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "FAILED_PRECONDITION",
                    "INTERNAL"}
    assert server_codes <= set(CODES)
    assert len(set(CODES.values())) == len(ExitCode) - 1  # every class but OK is reached by some code
    assert ModelregError("SOMETHING_NEW", "x").exit_code == ExitCode.SERVER_ERROR


@pytest.mark.parametrize(("entry", "argv", "code", "says"), [
    ("app.cli", ["whoami", "--url", "http://127.0.0.1:9"], 9, "UNAVAILABLE"),  # the server's hands to the client's
    ("modelreg_client.cli", ["db", "--help"], 0, "upgrade"),  # the client's hands to the server's (entry point)
])
def test_either_entry_point_runs_both_sets_of_commands(entry, argv, code, says):
    """pip keeps one `modelreg` script, the last installed package's; either must do both."""
    done = subprocess.run([sys.executable, "-c", f"import sys; from {entry} import main; sys.exit(main({argv!r}))"],
                          env={"PATH": "/usr/bin:/bin", "MODELREG_TOKEN": "x"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == code and says in done.stdout + done.stderr, done
