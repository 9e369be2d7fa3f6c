"""Fixtures of the MLflow compatibility tests: a real MLflow tracking server for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.mlflow_server import MlflowServer


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One ``mlflow server`` per test session (its runs, logged models and artifacts), stopped at the end."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    try:
        yield server
    finally:
        server.stop()
