"""Fixtures of the MLflow compatibility tests: a real MLflow tracking server, and a real modelreg server that copies
from it, both for the session; MLflow's own client points its registry URI at modelreg."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.mlflow_server import MlflowServer

# Staging is free, Production and the protected alias `champion` need one approval; no document gates, so a
# version straight from MLflow can be promoted once approved.
ONE_APPROVAL_POLICY = """\
version: 1
protected_aliases: [champion]
stages:
  STAGING: {required_approvals: 0, gates: {version_ready: true}}
  PRODUCTION: {required_approvals: 1, gates: {version_ready: true, documents: []}}
  ARCHIVED: {required_approvals: 0}
overrides: []
"""


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One ``mlflow server`` per test session (its runs, logged models and artifacts), stopped at the end."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Registry:
    """A modelreg server for MLflow's client, with tokens of its development issuer."""

    server: LiveServer
    local_source_root: Path

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, *roles: str, sub: str = "mlflow-user") -> str:
        return dev_issuer.mint_token(self.server.data_dir, subject=sub, roles=list(roles), audience="modelreg",
                                     ttl_seconds=3600)

    def graphql(self, query: str, variables: dict | None = None, *roles: str, sub: str = "mlflow-user") -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                              headers={"Authorization": f"Bearer {self.token(*roles, sub=sub)}"}, timeout=30)
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]


@pytest.fixture(scope="session")
def mlflow_registry(tmp_path_factory: pytest.TempPathFactory, mlflow_server: MlflowServer,
                    artifact_store_env: dict[str, str]) -> Iterator[Registry]:
    """modelreg with MODELREG_MLFLOW_TRACKING_URI at the MLflow server, the one-approval policy, and one folder
    that local sources may be copied from."""
    server_dir = tmp_path_factory.mktemp("mlflow-registry")
    policy = server_dir / "promotion.yaml"
    policy.write_text(ONE_APPROVAL_POLICY)
    local_root = server_dir / "local-sources"
    local_root.mkdir()
    with fresh_database(server_dir, "mlflowreg") as url:
        server = LiveServer(server_dir, url, {
            **artifact_store_env,
            "MODELREG_MLFLOW_TRACKING_URI": mlflow_server.url,
            "MODELREG_PROMOTION_POLICY": str(policy),
            "MODELREG_SOURCE_LOCAL_ROOTS": str(local_root),
        })
        try:
            yield Registry(server, local_root)
        finally:
            server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need MLflow's server run on one xdist worker (``--dist loadgroup`` in pyproject.toml): one MLflow
    server (15-40 s to start) per test run, rather than one on every worker."""
    for item in items:
        if "mlflow_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("mlflow"))
