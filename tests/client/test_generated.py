"""The client's typed operations follow the schema: every operation validates against schema.graphql, and
generated.py is exactly what client/codegen.py makes of the two files (mypy then checks the client's use of every
field: `./dev lint`). A schema change that breaks the client fails here or in mypy."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODEGEN = ROOT / "client" / "codegen.py"

pytestmark = pytest.mark.backend_independent


def codegen():
    spec = importlib.util.spec_from_file_location("client_codegen", CODEGEN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["client_codegen"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generated_module_is_fresh():
    result = subprocess.run([sys.executable, str(CODEGEN), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_field_the_client_uses_removed_from_the_schema_fails_generation():
    module = codegen()
    schema = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    operations = (ROOT / "client" / "modelreg_client" / "operations.graphql").read_text(encoding="utf-8")
    broken = schema.replace("  pinnedUri: String!\n", "  pinnedURI: String!\n", 1)  # renamed: gone for the client
    assert broken != schema
    with pytest.raises(module.CodegenError, match="pinnedUri"):
        module.generate(broken, operations)


def test_a_retyped_field_changes_the_generated_types():
    module = codegen()
    schema = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    operations = (ROOT / "client" / "modelreg_client" / "operations.graphql").read_text(encoding="utf-8")
    retyped = schema.replace("  requiredApprovals: Int!\n", "  requiredApprovals: String!\n", 1)
    assert retyped != schema
    assert module.generate(retyped, operations) != module.generate(schema, operations)


def test_every_operation_has_a_typed_method():
    from modelreg_client.generated import Operations

    lines = (ROOT / "client" / "modelreg_client" / "operations.graphql").read_text().splitlines()
    names = [line.split()[1].split("(")[0] for line in lines if line.startswith(("query ", "mutation "))]
    methods = {name for name in vars(Operations) if not name.startswith("_")}
    assert {codegen().snake(name) for name in names} <= methods
