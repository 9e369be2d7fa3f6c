"""``modelreg policy explain``: the decision, the rules that made it, the exit status."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.auth.explain import permission_for, place_of
from app.cli import main
from app.config import Settings
from app.domain.identity import Permission

pytestmark = pytest.mark.backend_independent

RULES = (
    "g2, group:ml-fraud, data-scientist, fraud/",
    "g2, group:risk-office, approver, fraud/",
    "g, group:internal-audit, auditor",
)


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    source = Settings().policy_dir
    shutil.copy(source / "model.conf", tmp_path / "model.conf")
    text = (source / "policy.csv").read_text(encoding="utf-8")
    (tmp_path / "policy.csv").write_text(text + "\n" + "\n".join(RULES) + "\n", encoding="utf-8")
    return tmp_path


def run(capsys, policy_dir: Path, *args: str) -> tuple[int, str]:
    status = main(["policy", "explain", "--policy-dir", str(policy_dir), *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_allowed_in_scope_names_the_assignment_and_the_rule(capsys, policy_dir):
    status, out = run(capsys, policy_dir, "--sub", "ana", "--group", "ml-fraud", "--action", "model:write",
                      "--resource", "models:/fraud/cards/x")
    assert status == 0
    assert out.splitlines()[0] == "ALLOWED: model:write on model fraud/cards/x in namespace fraud/cards/"
    assert "assigned by: g2, group:ml-fraud, data-scientist, fraud/" in out
    assert "granted by: p, data-scientist, model, write (role data-scientist@fraud/, held within fraud/)" in out


def test_refused_out_of_scope_says_where_the_role_applies(capsys, policy_dir):
    status, out = run(capsys, policy_dir, "--group", "ml-fraud", "--action", "write", "--resource", "models:/churn/x/3")
    assert status == 1
    assert out.startswith("REFUSED: model:write on model churn/x in namespace churn/")
    assert "not here: data-scientist@fraud/ grants model:write only within fraud/" in out


def test_the_owner_rule(capsys, policy_dir):
    args = ("--sub", "ana", "--group", "ml-fraud", "--action", "model:write", "--resource", "models:/churn/x")
    assert run(capsys, policy_dir, *args)[0] == 1
    status, out = run(capsys, policy_dir, *args, "--owner", "ana")
    assert status == 0 and "granted by: ownership" in out
    assert run(capsys, policy_dir, *args, "--owner", "group:ml-fraud")[0] == 0
    assert run(capsys, policy_dir, *args, "--owner", "bob")[0] == 1


def test_global_roles_and_registry_wide_permissions(capsys, policy_dir):
    status, out = run(capsys, policy_dir, "--group", "internal-audit", "--action", "audit:read")
    assert status == 0 and "granted by: p, auditor, audit, read (role auditor, held globally)" in out
    status, out = run(capsys, policy_dir, "--role", "mlops@fraud/", "--action", "webhook:manage")
    assert status == 1 and "registry-wide: only a role held globally grants it" in out
    status, out = run(capsys, policy_dir, "--role", "nobody", "--action", "registry:read")
    assert status == 1 and "no role the caller holds grants registry:read" in out


def test_bad_arguments_exit_2(capsys, policy_dir):
    status, out = run(capsys, policy_dir, "--action", "bogus")
    assert status == 2 and "unknown action 'bogus'" in out
    status, out = run(capsys, policy_dir, "--action", "write:model")
    assert status == 2 and "unknown permission" in out


def test_actions_and_places():
    assert permission_for("approve") is Permission.TRANSITION_APPROVE
    assert permission_for("write") is Permission.MODEL_WRITE
    assert permission_for("delete") is Permission.MODEL_DELETE
    assert permission_for("version:delete") is Permission.VERSION_DELETE
    with pytest.raises(ValueError, match="ambiguous"):
        permission_for("read")
    assert place_of("models:/fraud/x") == "fraud/x"
    assert place_of("models:/fraud/x/3") == "fraud/x"
    assert place_of("models:/fraud/x/Production") == "fraud/x"
    assert place_of("models:/fraud/x@champion") == "fraud/x"
    assert place_of("models:/fraud/") == "fraud/"
    assert place_of("fraud/cards/") == "fraud/cards/"
    assert place_of("*") == "*"
    assert place_of(None) is None
