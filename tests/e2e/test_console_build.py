"""The web console's build: what ships (size, nothing from elsewhere), how / serves it, and that a schema change
breaking one of its operations fails the build (graphql-codegen for a field gone, `tsc --noEmit` for a type changed).

Needs the console built (`./dev setup`, or `npm run console:build`) and node_modules; a missing piece is a failure.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.http import pages
from tests.support.browser import ROOT

pytestmark = [pytest.mark.e2e]

CONSOLE = ROOT / "app" / "web" / "console"
BUDGET_GZIP_BYTES = 300 * 1024


def built_index() -> str:
    index = CONSOLE / "index.html"
    if not index.is_file():
        pytest.fail("the console is not built: run `./dev setup` (or `npm run console:build`)", pytrace=False)
    return index.read_text(encoding="utf-8")


def test_shipped_javascript_stays_under_300_kb_gzipped():
    index = built_index()
    scripts = sorted((CONSOLE / "assets").glob("*.js"))
    assert scripts, "no JavaScript in app/web/console/assets"
    sizes = {path.name: len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in scripts}
    print(f"gzipped JavaScript: {sizes} ({sum(sizes.values())} bytes)")
    assert sum(sizes.values()) < BUDGET_GZIP_BYTES, sizes
    # Everything the page loads comes from this server.
    assert re.findall(r'(?:src|href)="(?!/(?!/)|data:)([^"]*)"', index) == []
    assert re.findall(r'src="([^"]*)"', index) and all(
        src.startswith("/static/console/assets/") for src in re.findall(r'src="([^"]*)"', index))
    for path in (CONSOLE / "assets").iterdir():
        if path.suffix in (".js", ".css"):
            assert not re.search(r"(?:src|href|url)\(?\s*['\"]?https?://", path.read_text(encoding="utf-8")), path


async def test_root_serves_the_console_with_the_page_headers(api):
    built_index()
    page = await api.client.get("/", follow_redirects=False)
    assert page.status_code == 200 and "<title>modelreg console</title>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    asset = re.search(r'src="(/static/console/assets/[^"]+\.js)"', page.text)
    assert asset, page.text
    assert (await api.client.get(asset.group(1))).status_code == 200
    assert (await api.client.get("/graphql", headers={"accept": "text/html"})).status_code == 200  # GraphiQL stays


async def test_root_redirects_to_graphiql_when_the_console_is_not_built(api, monkeypatch, tmp_path):
    monkeypatch.setattr(pages, "CONSOLE_INDEX", tmp_path / "missing" / "index.html")
    page = await api.client.get("/", follow_redirects=False)
    assert page.status_code == 307 and page.headers["location"] == "/graphql"


def console_copy(tmp_path: Path, schema: str) -> Path:
    """console/ in a scratch folder beside a changed schema.graphql, resolving packages from the repo's node_modules."""
    if not (ROOT / "node_modules" / ".bin" / "graphql-codegen").exists():
        pytest.fail("node_modules/.bin/graphql-codegen is missing: run `npm ci`", pytrace=False)
    tmp_path.mkdir(parents=True)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    (tmp_path / "schema.graphql").write_text(schema, encoding="utf-8")
    shutil.copytree(ROOT / "console", tmp_path / "console", ignore=shutil.ignore_patterns("generated"))
    return tmp_path / "console"


def run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELREG_CONSOLE_SCHEMA": "../schema.graphql", "NO_COLOR": "1"}
    return subprocess.run([str(ROOT / "node_modules" / ".bin" / tool), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_schema_change_that_breaks_an_operation_fails_the_build(tmp_path):
    # A field an operation selects is gone: graphql-codegen refuses the operation, naming it.
    gone = console_copy(tmp_path / "gone", re.sub(
        r"(type ModelAlias implements Node \{[^}]*?\n  )alias: String!", r"\1renamedAlias: String!",
        (ROOT / "schema.graphql").read_text(encoding="utf-8")))
    done = run("graphql-codegen", "--config", "codegen.ts", cwd=gone)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert 'Cannot query field "alias" on type "ModelAlias"' in output, output

    # A field's type changed: the operations still validate, and the type check fails where the console uses it.
    schema = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    changed_schema = re.sub(r"(type Metric \{[^}]*?\n  value: )Float!", r"\1String!", schema)
    changed = console_copy(tmp_path / "changed", changed_schema)
    assert run("graphql-codegen", "--config", "codegen.ts", cwd=changed).returncode == 0
    done = run("tsc", "--noEmit", "-p", "tsconfig.json", cwd=changed)
    assert done.returncode != 0, done.stdout
    assert "src/pages/Model.tsx" in done.stdout and "error TS2345" in done.stdout, done.stdout
