"""schema.graphql passes the schema lint: ESLint with @graphql-eslint's schema-recommended and schema-relay rules, as
configured (with its exceptions and their reasons) in graphql.eslint.config.mjs. Runs `npm run lint:schema`.

Needs Node and `npm ci` in the project root (./dev setup). Either missing is a failure, never a skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema.graphql"
PLUGIN = ROOT / "node_modules" / "@graphql-eslint" / "eslint-plugin" / "package.json"
LINT_COMMAND = ["run", "--silent", "lint:schema", "--", "--format", "json"]
TIMEOUT_SECONDS = 60
DEFINITION = re.compile(r"^(?:type|input|enum|interface|union|scalar|directive) @?(\w+)")


def enclosing_definitions(sdl: str) -> list[str]:
    """For each line of the schema (1-based, index 0 unused), the type, input, enum... it belongs to."""
    names, current = [""], ""
    for line in sdl.splitlines():
        if match := DEFINITION.match(line):
            current = match[1]
        names.append(current)
    return names


def describe(findings: list[dict]) -> str:
    by_rule = Counter(finding["rule"] for finding in findings)
    counts = ", ".join(f"{rule} {count}" for rule, count in by_rule.most_common())
    where = enclosing_definitions(SCHEMA_FILE.read_text(encoding="utf-8"))
    lines = [f"  {f['line']}:{f['column']} [{where[f['line']] if f['line'] < len(where) else '?'}] {f['rule']}: "
             f"{f['message']}" for f in findings]
    return f"{len(findings)} finding(s) in schema.graphql ({counts}):\n" + "\n".join(lines)


def test_schema_passes_the_graphql_lint():
    npm = shutil.which("npm")
    assert npm, "npm is not on PATH: the schema lint needs Node 20+ and npm"
    assert PLUGIN.is_file(), f"{PLUGIN} is missing: run `./dev setup` (npm ci) in {ROOT}"
    try:
        done = subprocess.run([npm, *LINT_COMMAND], cwd=ROOT, capture_output=True, text=True,
                              timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"`npm {' '.join(LINT_COMMAND)}` did not finish in {TIMEOUT_SECONDS}s; stderr:\n{error.stderr}")

    # Exit 1 means findings (listed below); 2 means ESLint itself failed (config, plugin, unreadable schema).
    try:
        results = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"the lint printed no JSON report (exit {done.returncode})\nstdout:\n{done.stdout[-3000:]}\n"
                    f"stderr:\n{done.stderr[-3000:]}")
    linted = [Path(result["filePath"]) for result in results]
    assert linted == [SCHEMA_FILE], f"expected the lint to check {SCHEMA_FILE} alone, it checked {linted}"

    findings = sorted(
        ({"rule": message.get("ruleId") or "(parse error)", "line": message.get("line", 0),
          "column": message.get("column", 0), "message": " ".join(message["message"].split())}
         for message in results[0]["messages"]),
        key=lambda finding: (finding["line"], finding["column"], finding["rule"]))
    if findings:
        pytest.fail(describe(findings) + "\nRun `npm run lint:schema` for the same report.", pytrace=False)
    assert done.returncode == 0, f"ESLint exited {done.returncode} without findings:\n{done.stderr[-3000:]}"
