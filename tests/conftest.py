"""Fixtures for every suite. The database backend is chosen by MODELREG_TEST_DATABASE_URL."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import AsyncIterator, Iterator

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.support.azurite import Azurite
from tests.support.client import Api
from tests.support.databases import backend, fresh_database, wipe
from tests.support.live_server import LiveServer
from tests.support.oidc import OidcProvider, ProviderUnavailable, provider

pytest_plugins = ["tests.support.cli"]  # the `modelreg` fixture: the command run in process


def pytest_report_header(config: pytest.Config) -> str:
    store = os.environ.get("MODELREG_TEST_ARTIFACT_STORE", "local")
    return f"modelreg database backend: {backend()}; artifact store: {store}"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    with fresh_database(data_dir, "suite") as url:
        yield url


@pytest.fixture(scope="session")
def artifact_store_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """MODELREG_* variables for the artifact store the suite runs on: the local folder by default, Azure Blob
    Storage on a session-wide Azurite when MODELREG_TEST_ARTIFACT_STORE=azure (CI's PostgreSQL run)."""
    if os.environ.get("MODELREG_TEST_ARTIFACT_STORE", "local") != "azure":
        yield {}
        return
    azurite = Azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield {"MODELREG_ARTIFACT_STORE": f"azure://suite-{secrets.token_hex(4)}",
               "MODELREG_AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    finally:
        azurite.stop()


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str, artifact_store_env: dict[str, str]) -> Settings:
    # Webhook receivers in the tests listen on loopback, which production refuses.
    return Settings(data_dir=data_dir, database_url=database_url, webhook_allow_private=True,
                    environments="staging,production,qa,dev,sandbox",
                    artifact_store=artifact_store_env.get("MODELREG_ARTIFACT_STORE", ""),
                    azure_connection_string=artifact_store_env.get("MODELREG_AZURE_STORAGE_CONNECTION_STRING"))


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    yield application
    await application.state.services.artifacts.store.close()
    await application.state.database.dispose()


@pytest.fixture
async def api(app: object, data_dir: Path, database_url: str) -> AsyncIterator[Api]:
    """An in-process API client on an empty database."""
    wipe(database_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, data_dir, database_url=database_url)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, artifact_store_env: dict[str, str]) -> Iterator[LiveServer]:
    """A real uvicorn process with its own data directory and database, on the suite's artifact store."""
    server_dir = tmp_path_factory.mktemp("live")
    with fresh_database(server_dir, "live") as url:
        server = LiveServer(server_dir, url, artifact_store_env)
        yield server
        server.stop()


# Fixtures that reach the suite's database or artifact store: a test using any of them depends on the backend.
BACKEND_FIXTURES = frozenset({"database_url", "artifact_store_env"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked backend_independent (run by CI in the SQLite leg only) must not use the suite's database or
    artifact store: such a mark would hide it from the PostgreSQL and Azure leg."""
    wrong = [item.nodeid for item in items if item.get_closest_marker("backend_independent")
             and BACKEND_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if wrong:
        raise pytest.UsageError(f"marked backend_independent but using the database or artifact store: {wrong}")


@pytest.fixture(scope="module")
def idp() -> OidcProvider:
    """The real OpenID provider (npm oidc-provider on loopback, tests/support/oidc.py), started once per test run;
    a module that needs another provider defines its own ``idp``."""
    try:
        return provider()
    except ProviderUnavailable as error:
        pytest.fail(str(error), pytrace=False)

