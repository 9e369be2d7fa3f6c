"""Running the ``modelreg`` command in this process: ``main(argv)`` with captured output, as a fresh shell would
see it (no MODELREG_* variables but the ones given), and a guard that fails instead of starting a server."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from app.cli import main


@dataclass(frozen=True)
class Done:
    """What a run of the command left: its exit code and its output."""

    returncode: int
    stdout: str
    stderr: str


def _refuse_to_serve(*args: object, **kwargs: object) -> None:
    raise AssertionError("modelreg serve got as far as starting the server")


@pytest.fixture
def modelreg(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., Done]]:
    """``modelreg(*argv, **env)`` runs the command in process and returns a Done; logging is put back afterwards
    (``serve`` sends every logger through its JSON handler)."""
    for name in [name for name in os.environ if name.startswith("MODELREG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(uvicorn, "run", _refuse_to_serve)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: (logging.getLogger(name).level, logging.getLogger(name).disabled)
             for name in ("casbin", "strawberry.execution")}

    def run(*argv: str, **env: str) -> Done:
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            capsys.readouterr()
            try:
                code = main(list(argv))
            except SystemExit as stopped:  # argparse's own usage errors
                code = stopped.code if isinstance(stopped.code, int) else 2
            captured = capsys.readouterr()
        return Done(code, captured.out, captured.err)

    yield run
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (logger_level, disabled) in quiet.items():
        logging.getLogger(name).setLevel(logger_level)
        logging.getLogger(name).disabled = disabled
