"""Identity configuration: one issuer from variables, several from a file; bad values stop start-up with one
line naming the variable."""

import pytest

from app.auth.issuers import load_issuers
from app.config import ConfigError, load_settings

pytestmark = pytest.mark.backend_independent

ISSUERS_TOML = """
[[issuers]]
name = "entra"
issuer = "https://login.microsoftonline.com/tenant/v2.0"
audience = ["api://modelreg", "6f1c0c1e"]
role_claims = ["roles"]

[[issuers]]
issuer = "https://token.actions.githubusercontent.com"
audience = "modelreg"
role_claims = ["repo:{repository}:ref:{ref}"]
kind = "service"
subject_prefix = "github:"
algorithms = ["RS256"]
"""


def test_one_issuer_is_one_variable():
    (config,) = load_issuers(load_settings({"MODELREG_OIDC_ISSUER": "https://idp.example/realms/ml"}))
    assert config.issuer == "https://idp.example/realms/ml"
    assert config.audiences == ("modelreg",)
    assert [s.template for s in config.role_sources] == ["{roles}"]
    assert config.algorithms == ("RS256", "PS256", "ES256")


def test_variables_take_lists():
    settings = load_settings({"MODELREG_OIDC_ISSUER": "https://idp.example", "MODELREG_OIDC_AUDIENCE": "a, b",
                              "MODELREG_ROLES_CLAIM": "realm_access.roles, group:{groups}",
                              "MODELREG_OIDC_ALGORITHMS": "ES256", "MODELREG_OIDC_LEEWAY": "30"})
    (config,) = load_issuers(settings)
    assert config.audiences == ("a", "b") and config.algorithms == ("ES256",)
    assert [s.template for s in config.role_sources] == ["{realm_access.roles}", "group:{groups}"]
    assert settings.oidc_leeway == 30 and not settings.dev_issuer_enabled


def test_several_issuers_from_a_file(tmp_path):
    path = tmp_path / "issuers.toml"
    path.write_text(ISSUERS_TOML)
    entra, github = load_issuers(load_settings({"MODELREG_OIDC_ISSUERS_FILE": str(path)}))
    assert entra.audiences == ("api://modelreg", "6f1c0c1e") and entra.label == "entra"
    assert github.kind == "service" and github.subject_prefix == "github:"
    assert github.label == "token.actions.githubusercontent.com"
    assert github.audiences == ("modelreg",)


@pytest.mark.parametrize("env, message", [
    ({"MODELREG_OIDC_ISSUER": "ftp://x"}, "MODELREG_OIDC_ISSUER must be an http(s) URL"),
    ({"MODELREG_OIDC_ISSUER": "https://x", "MODELREG_OIDC_ALGORITHMS": "RS256,HS256"},
     "MODELREG_OIDC_ALGORITHMS: 'HS256' is not allowed"),
    ({"MODELREG_OIDC_ISSUER": "https://x", "MODELREG_OIDC_ALGORITHMS": "none"},
     "MODELREG_OIDC_ALGORITHMS: 'none' is not allowed"),
    ({"MODELREG_OIDC_AUDIENCE": " , "}, "MODELREG_OIDC_AUDIENCE must name at least one audience"),
    ({"MODELREG_OIDC_LEEWAY": "9999"}, "MODELREG_OIDC_LEEWAY must be between 0 and 600"),
    ({"MODELREG_OIDC_LEEWAY": "soon"}, "MODELREG_OIDC_LEEWAY must be an integer"),
    ({"MODELREG_ROLES_CLAIM": "group:{groups"}, "MODELREG_ROLES_CLAIM: role claim"),
    ({"MODELREG_OIDC_ISSUER": "https://x", "MODELREG_OIDC_ISSUERS_FILE": "/x.toml"},
     "set MODELREG_OIDC_ISSUER or MODELREG_OIDC_ISSUERS_FILE, not both"),
    ({"MODELREG_OIDC_ISSUERS_FILE": "/nonexistent/issuers.toml"},
     "MODELREG_OIDC_ISSUERS_FILE: /nonexistent/issuers.toml does not exist"),
    ({"MODELREG_OIDC_CLIENT_ID": "ui"}, "MODELREG_OIDC_CLIENT_ID needs MODELREG_OIDC_ISSUER"),
    ({"MODELREG_OIDC_ISSUER": "https://x", "MODELREG_OIDC_CLIENT_ID": "ui"},
     "MODELREG_SESSION_SECRET must be set to at least 32 random characters"),
    ({"MODELREG_OIDC_ISSUER": "https://x", "MODELREG_OIDC_CLIENT_ID": "ui", "MODELREG_SESSION_SECRET": "s" * 32,
      "MODELREG_OIDC_SIGNIN_ISSUER": "https://y"}, "MODELREG_OIDC_SIGNIN_ISSUER must be one of"),
    ({"MODELREG_OIDC_ISSUER": "https://x", "MODELREG_OIDC_CLIENT_ID": "ui", "MODELREG_SESSION_SECRET": "s" * 32,
      "MODELREG_OIDC_AUTHORIZE_PARAMS": "state=x"}, "MODELREG_OIDC_AUTHORIZE_PARAMS: ['state'] are set by"),
    ({"MODELREG_OIDC_ISSUER": "https://x", "MODELREG_OIDC_CLIENT_ID": "ui", "MODELREG_SESSION_SECRET": "s" * 32,
      "MODELREG_OIDC_SCOPES": "profile"}, "MODELREG_OIDC_SCOPES must include openid"),
])
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("[[issuers]]\naudience = 'x'\n", "issuers[1].issuer is required"),
    ("[[issuers]]\nissuer = 'https://a'\nkind = 'robot'\n", "issuers[1].kind must be one of auto, user, service"),
    ("[[issuers]]\nissuer = 'https://a'\nrole = 'x'\n", "issuers[1]: unknown key(s) ['role']"),
    ("[[issuers]]\nissuer = 'https://a'\nalgorithms = ['HS256']\n", "issuers[1].algorithms: 'HS256' is not allowed"),
    ("[[issuers]]\nissuer = 'https://a'\n[[issuers]]\nissuer = 'https://a'\n", "issuer(s) listed twice"),
    ("issuers = 3", "must contain at least one [[issuers]] table"),
    ("[[issuers]\n", "is not valid TOML"),
])
def test_bad_issuer_files_name_the_entry(tmp_path, text, message):
    path = tmp_path / "issuers.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings({"MODELREG_OIDC_ISSUERS_FILE": str(path)})
    assert str(error.value).startswith("MODELREG_OIDC_ISSUERS_FILE") and message in str(error.value), str(error.value)
    assert "\n" not in str(error.value)
