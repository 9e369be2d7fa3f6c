"""The modelreg command: configuration errors, tokens, migrations. In process (``main(argv)``), but for one smoke
test of the installed entry point in a process of its own."""

import os
import subprocess
import sys

import pytest


pytestmark = pytest.mark.backend_independent


@pytest.mark.parametrize(("variable", "value"), [("MODELREG_PORT", "eighty"),
                                                 ("MODELREG_DATABASE_URL", "mysql://x/y"),
                                                 ("MODELREG_OIDC_ISSUER", "not a url"),
                                                 ("MODELREG_POLICY_DIR", "{tmp_path}")])
def test_invalid_configuration_stops_with_one_line_naming_the_variable(modelreg, tmp_path, variable, value):
    done = modelreg("serve", MODELREG_DATA_DIR=str(tmp_path), **{variable: value.format(tmp_path=tmp_path)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr


def test_the_command_in_a_process_of_its_own_stops_on_bad_configuration(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
    done = subprocess.run([sys.executable, "-m", "app", "serve"], capture_output=True, text=True, timeout=60,
                          env={**clean, "MODELREG_DATA_DIR": str(tmp_path), "MODELREG_PORT": "eighty"},
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "MODELREG_PORT" in done.stderr


def test_token_is_refused_when_a_real_issuer_is_configured(modelreg, tmp_path):
    done = modelreg("token", "--sub", "x", MODELREG_DATA_DIR=str(tmp_path), MODELREG_OIDC_ISSUER="https://idp.example")
    assert done.returncode == 2 and "development issuer is off" in done.stderr


def test_token_rejects_bad_ttl(modelreg, tmp_path):
    done = modelreg("token", "--sub", "x", "--ttl", "forever", MODELREG_DATA_DIR=str(tmp_path))
    assert done.returncode == 2 and "--ttl" in done.stderr


def test_db_upgrade_then_current(modelreg, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert modelreg("db", "current", MODELREG_DATABASE_URL=url).stdout.strip().startswith("(no revision")
    assert "(head)" in modelreg("db", "upgrade", MODELREG_DATABASE_URL=url).stdout
    assert "(head)" in modelreg("db", "current", MODELREG_DATABASE_URL=url).stdout
