"""The modelreg command: configuration errors, tokens, migrations."""

import os
import subprocess
import sys


def run(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
    return subprocess.run([sys.executable, "-m", "app", *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_invalid_configuration_stops_with_one_line_naming_the_variable(tmp_path):
    for env, variable in [({"MODELREG_PORT": "eighty"}, "MODELREG_PORT"),
                          ({"MODELREG_DATABASE_URL": "mysql://x/y"}, "MODELREG_DATABASE_URL"),
                          ({"MODELREG_OIDC_ISSUER": "not a url"}, "MODELREG_OIDC_ISSUER"),
                          ({"MODELREG_POLICY_DIR": str(tmp_path)}, "MODELREG_POLICY_DIR")]:
        done = run("serve", MODELREG_DATA_DIR=str(tmp_path), **env)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and variable in lines[0], done.stderr


def test_token_is_refused_when_a_real_issuer_is_configured(tmp_path):
    done = run("token", "--sub", "x", MODELREG_DATA_DIR=str(tmp_path), MODELREG_OIDC_ISSUER="https://idp.example")
    assert done.returncode == 2 and "development issuer is off" in done.stderr


def test_token_rejects_bad_ttl(tmp_path):
    done = run("token", "--sub", "x", "--ttl", "forever", MODELREG_DATA_DIR=str(tmp_path))
    assert done.returncode == 2 and "--ttl" in done.stderr


def test_db_upgrade_then_current(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("db", "current", MODELREG_DATABASE_URL=url).stdout.strip().startswith("(no revision")
    assert "(head)" in run("db", "upgrade", MODELREG_DATABASE_URL=url).stdout
    assert "(head)" in run("db", "current", MODELREG_DATABASE_URL=url).stdout
