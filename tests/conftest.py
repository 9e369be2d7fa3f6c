"""Fixtures for every suite. The database backend is chosen by MODELREG_TEST_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Iterator

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.support.client import Api
from tests.support.databases import backend, fresh_database, wipe
from tests.support.live_server import LiveServer


def pytest_report_header(config: pytest.Config) -> str:
    return f"modelreg database backend: {backend()}"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    with fresh_database(data_dir, "suite") as url:
        yield url


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    yield application
    await application.state.database.dispose()


@pytest.fixture
async def api(app: object, data_dir: Path, database_url: str) -> AsyncIterator[Api]:
    """An in-process API client on an empty database."""
    wipe(database_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, data_dir)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real uvicorn process with its own data directory and database."""
    server_dir = tmp_path_factory.mktemp("live")
    with fresh_database(server_dir, "live") as url:
        server = LiveServer(server_dir, url)
        yield server
        server.stop()
