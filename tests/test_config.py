"""Settings: one declaration per setting (app/config.py) drives reading the environment, validation and the
configuration table of README.md."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import SETTINGS, ConfigError, Settings, load_settings
from app.settings_spec import TABLE_END, TABLE_START, main, markdown_table, setting, specs, with_table

pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_table(text: str) -> str:
    assert text.count(TABLE_START) == 1 and text.count(TABLE_END) == 1, "README.md lost its table markers"
    return text.split(TABLE_START)[1].split(TABLE_END)[0].strip()


def test_the_readme_table_is_the_one_the_declarations_render():
    """On failure: python -m app.config --update-readme README.md, then review the diff."""
    assert readme_table(README.read_text(encoding="utf-8")) == markdown_table(Settings)


def test_each_setting_is_declared_once_with_its_variable_and_a_one_line_description():
    assert [spec.name for spec in SETTINGS] == [field.name for field in dataclasses.fields(Settings)]
    variables = [spec.variable for spec in SETTINGS]
    assert len(set(variables)) == len(variables)
    for spec in SETTINGS:
        assert spec.variable.startswith("MODELREG_") and spec.variable.isupper(), spec.variable
        assert spec.description and "\n" not in spec.description, spec.variable


def test_an_empty_environment_gives_the_declared_defaults_and_they_pass_their_checks():
    assert load_settings({}) == Settings()


def test_settings_built_directly_take_the_values_given_never_the_environment(monkeypatch):
    monkeypatch.setenv("MODELREG_PORT", "1234")
    assert Settings().port == 8000 and Settings(host="0.0.0.0").port == 8000
    assert load_settings().port == 1234  # os.environ is read by load_settings only


@pytest.mark.parametrize(("variable", "raw", "attribute", "value"), [
    ("MODELREG_PORT", " 9000 ", "port", 9000),
    ("MODELREG_PORT", "", "port", 8000),
    ("MODELREG_HOST", "", "host", "127.0.0.1"),
    ("MODELREG_DATA_DIR", "elsewhere", "data_dir", Path("elsewhere")),
    ("MODELREG_OIDC_ISSUER", "", "oidc_issuer", None),
    ("MODELREG_OIDC_AUDIENCE", "a, b", "oidc_audience", "a, b"),
    ("MODELREG_DATABASE_URL", "sqlite:///x.db", "database_url", "sqlite:///x.db"),
    ("MODELREG_PRODUCTION_ENVIRONMENTS", "", "production_environments", ""),  # empty means none here
    ("MODELREG_SECRET_KEY", "k" * 32, "secret_key", "k" * 32),
    ("MODELREG_MAX_UPLOAD_SIZE", "1024", "max_upload_size", 1024),
])
def test_a_variable_is_read_into_its_attribute(variable, raw, attribute, value):
    assert getattr(load_settings({variable: raw}), attribute) == value


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("true", True), (" Yes ", True), ("ON", True),
                                            ("0", False), ("false", False), ("no", False), (" Off", False)])
def test_switches_take_the_usual_spellings(raw, value):
    assert load_settings({"MODELREG_DOWNLOAD_REDIRECT": raw}).download_redirect is value
    assert load_settings({"MODELREG_INTROSPECTION": raw}).introspection is value


@pytest.mark.parametrize(("env", "message"), [
    ({"MODELREG_PORT": "eighty"}, "MODELREG_PORT must be an integer, got 'eighty'"),
    ({"MODELREG_PORT": "70000"}, "MODELREG_PORT must be a port number 1-65535, got 70000"),
    ({"MODELREG_INTROSPECTION": "t"}, "MODELREG_INTROSPECTION must be true or false, got 't'"),
    ({"MODELREG_DATABASE_URL": "mysql://x/y"},
     "MODELREG_DATABASE_URL must start with sqlite:// or postgresql://, got scheme 'mysql'"),
    ({"MODELREG_POLICY_DIR": "{tmp}"}, "MODELREG_POLICY_DIR must contain model.conf: not found in {tmp}"),
    ({"MODELREG_PROMOTION_POLICY": "{tmp}/none.yaml"}, "MODELREG_PROMOTION_POLICY: {tmp}/none.yaml: cannot be read"),
    ({"MODELREG_ARTIFACT_STORE": "s3://bucket"}, "MODELREG_ARTIFACT_STORE must be file:///path or azure://CONTAINER"),
    ({"MODELREG_ARTIFACT_STORE": "azure://"}, "MODELREG_ARTIFACT_STORE must name the container: azure://CONTAINER"),
    ({"MODELREG_ARTIFACT_STORE": "azure://models"},
     "MODELREG_ARTIFACT_STORE is azure://: set MODELREG_AZURE_STORAGE_CONNECTION_STRING or "
     "MODELREG_AZURE_STORAGE_ACCOUNT_URL"),
    ({"MODELREG_MAX_UPLOAD_SIZE": "0"}, "MODELREG_MAX_UPLOAD_SIZE must be a positive number of bytes"),
    ({"MODELREG_ENVIRONMENTS": "Prod"}, "MODELREG_ENVIRONMENTS must be a comma-separated list of lowercase names"),
    ({"MODELREG_PRODUCTION_ENVIRONMENTS": "qa"},
     "MODELREG_PRODUCTION_ENVIRONMENTS names environments not in MODELREG_ENVIRONMENTS: ['qa']"),
    ({"MODELREG_EVENTS_POLL_INTERVAL": "0"}, "MODELREG_EVENTS_POLL_INTERVAL must be 1-300 seconds"),
    ({"MODELREG_WEBHOOK_TIMEOUT": "121"}, "MODELREG_WEBHOOK_TIMEOUT must be 1-120 seconds"),
    ({"MODELREG_WEBHOOK_RETRY_PERIOD": "59"}, "MODELREG_WEBHOOK_RETRY_PERIOD must be 60 seconds to 30 days"),
    ({"MODELREG_SECRET_KEY": "short"}, "MODELREG_SECRET_KEY must be at least 32 characters"),
    ({"MODELREG_LOG_LEVEL": "loud"}, "MODELREG_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
])
def test_a_bad_value_is_refused_in_one_line_naming_the_variable(tmp_path, env, message):
    with pytest.raises(ConfigError) as error:
        load_settings({name: value.format(tmp=tmp_path) for name, value in env.items()})
    assert str(error.value).startswith(message.format(tmp=tmp_path)), str(error.value)
    assert "\n" not in str(error.value)


def test_overrides_replace_the_values_given_and_are_checked_again():
    settings = Settings().with_overrides(host="0.0.0.0", port=None)
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    with pytest.raises(ConfigError, match="MODELREG_PORT must be a port number"):
        settings.with_overrides(port=0)


def test_settings_are_frozen_and_keep_secrets_out_of_their_repr():
    secrets = {"oidc_client_secret": "client-secret", "session_secret": "s" * 32, "secret_key": "k" * 32,
               "azure_connection_string": "AccountKey=abc"}
    settings = Settings(**secrets)
    assert not any(value in repr(settings) for value in secrets.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_a_setting_must_be_declared_with_setting_and_of_a_type_a_variable_can_hold():
    @dataclasses.dataclass(frozen=True)
    class Plain:
        port: int = 8000

    @dataclasses.dataclass(frozen=True)
    class Listed:
        names: list = setting((), "MODELREG_NAMES", "names")

    with pytest.raises(TypeError, match="Plain.port must be declared with setting"):
        specs(Plain)
    with pytest.raises(TypeError, match="cannot be read from a variable"):
        specs(Listed)


def test_the_printer_prints_the_table_and_rewrites_the_readme(tmp_path, capsys):
    assert main(Settings, ["--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table(Settings) + "\n"
    text = README.read_text(encoding="utf-8")
    stale = tmp_path / "README.md"
    stale.write_text(with_table(text, "| variable | default | meaning |\n|---|---|---|"), encoding="utf-8")
    assert main(Settings, ["--update-readme", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == text
    with pytest.raises(ValueError, match="must hold the configuration table"):
        with_table("# no table here\n", markdown_table(Settings))


def test_python_dash_m_app_config_prints_the_table():
    clean = {name: value for name, value in os.environ.items() if not name.startswith("MODELREG_")}
    done = subprocess.run([sys.executable, "-m", "app.config", "--markdown"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=clean, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout == markdown_table(Settings) + "\n"
