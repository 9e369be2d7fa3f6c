"""Unit tests of the input rules, ``models:/`` URI parsing and command validation: plain Python, no database."""

from __future__ import annotations

import math

import pytest

from app.domain import rules
from app.domain.commands import ModelChanges, NewModel, NewVersion, VersionChanges
from app.domain.entities import ArtifactRef, Metric, Stage, TrackerKind
from app.domain.lineage_commands import NewCodeCommit as CodeRef
from app.domain.lineage_commands import NewRun as RunRef
from app.domain.errors import BadUserInput, ErrorCode
from app.domain.uris import ModelUri, parse_model_uri

pytestmark = pytest.mark.backend_independent

SHA = "a" * 64


def refused(call, *args, **kwargs) -> BadUserInput:
    with pytest.raises(BadUserInput) as caught:
        call(*args, **kwargs)
    assert caught.value.code is ErrorCode.BAD_USER_INPUT
    return caught.value


# Model names


@pytest.mark.parametrize("name", ["m", "fraud/scoring", "a.b-c_d", "A/B/C/d1", "n" * 256, "x...y", "v1.2"])
def test_model_name_accepted(name):
    assert rules.check_model_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "n" * 257,
        "has space",
        "tab\there",
        "trailing-newline\n",
        "new\nline",
        "at@sign",
        "colon:x",
        "percent%20",
        "ünicode",
        "/leading",
        "trailing/",
        "double//slash",
        "..",
        "../etc",
        "a/../b",
        "a/..",
        "back\\slash",
    ],
)
def test_model_name_refused(name):
    error = refused(rules.check_model_name, name)
    assert error.field == "name"


def test_model_name_error_names_the_field_it_was_given():
    assert refused(rules.check_model_name, "", "uri").field == "uri"


# Aliases


@pytest.mark.parametrize("alias", ["champion", "_private", "a", "c-1", "A_b-9", "a" * 64, "latest2", "prod"])
def test_alias_accepted(alias):
    assert rules.check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias",
    ["", "1st", "-x", "has space", "a" * 65, "a@b", "a/b", "a.b", "champion\n", "latest", "LATEST", "none",
     "Staging", "PRODUCTION", "archived"],
)
def test_alias_refused(alias):
    assert refused(rules.check_alias, alias).field == "alias"


def test_reserved_alias_message_says_why():
    assert "reserved" in refused(rules.check_alias, "Production").message


# Free text, tags, params


def test_text_limits():
    assert rules.check_text(None, "d") is None
    assert rules.check_text("", "d") == ""
    assert rules.check_text("x" * 1000, "d") == "x" * 1000
    error = refused(rules.check_text, "x" * 1001, "d")
    assert error.field == "d" and "1001" in error.message and "1000" in error.message
    assert refused(rules.check_text, "", "owner", required=True).field == "owner"
    assert refused(rules.check_text, None, "owner", required=True).field == "owner"


@pytest.mark.parametrize("key", ["k", "a.b", "team:owner", "with space", "path/like", "k" * 250])
def test_tag_key_accepted(key):
    assert rules.check_tag(key, "v") == (key, "v")


@pytest.mark.parametrize("key", ["", "k" * 251, "eq=sign", "new\nline", "trailing\n", "ünï", "quote'"])
def test_tag_key_refused(key):
    refused(rules.check_tag, key, "v")


def test_tag_value_limit():
    rules.check_tag("k", "v" * rules.TAG_VALUE_MAX)
    rules.check_tag("k", "")
    error = refused(rules.check_tag, "k", "v" * (rules.TAG_VALUE_MAX + 1))
    assert "5000" in error.message


def test_tag_count_limit():
    rules.check_tags({f"k{i}": "v" for i in range(rules.MAX_ENTRIES)})
    refused(rules.check_tags, {f"k{i}": "v" for i in range(rules.MAX_ENTRIES + 1)})


def test_params():
    rules.check_params({"lr": "0.1", "p" * 250: "v" * rules.PARAM_VALUE_MAX})
    refused(rules.check_params, {"": "v"})
    refused(rules.check_params, {"bad=name": "v"})
    refused(rules.check_params, {"lr": "v" * (rules.PARAM_VALUE_MAX + 1)})
    refused(rules.check_params, {f"p{i}": "v" for i in range(rules.MAX_ENTRIES + 1)})


# Metrics, digests, commits, signatures


@pytest.mark.parametrize("value", [0.0, -1.5, 1e308, -1e308, 5e-324])
def test_metric_finite_values_accepted(value):
    rules.check_metric("m", value, None)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_metric_non_finite_values_refused(value):
    assert "finite" in refused(rules.check_metric, "m", value, None).message


def test_metric_name_and_step():
    rules.check_metric("m", 1.0, 0)
    refused(rules.check_metric, "", 1.0, None)
    refused(rules.check_metric, "bad=name", 1.0, None)
    refused(rules.check_metric, "m", 1.0, -1)


def test_sha256():
    assert rules.check_sha256(None, "d") is None
    assert rules.check_sha256(SHA, "d") == f"sha256:{SHA}"
    assert rules.check_sha256(f"sha256:{SHA}", "d") == f"sha256:{SHA}"
    for bad in ["", "a" * 63, "a" * 65, "A" * 64, "g" * 64, f"md5:{SHA}", SHA + "\n", "sha256:"]:
        refused(rules.check_sha256, bad, "d")


@pytest.mark.parametrize("sha", ["abcdef1", "0" * 40, "f" * 64])
def test_commit_accepted(sha):
    assert rules.check_commit(sha) == sha


@pytest.mark.parametrize("sha", ["", "abcdef", "ABCDEF1", "xyzxyzx", "a" * 65, "abcdef1\n", " abcdef1", "abc def1"])
def test_commit_refused(sha):
    assert refused(rules.check_commit, sha).field == "code.commitSha"


def test_signature():
    rules.check_signature(None, 0)
    rules.check_signature({"inputs": [], "outputs": [], "params": {}}, 10)
    refused(rules.check_signature, [1, 2], 5)
    refused(rules.check_signature, "text", 5)
    assert "unknown keys" in refused(rules.check_signature, {"inputs": [], "extra": 1}, 10).message
    rules.check_signature({"inputs": []}, rules.SIGNATURE_MAX_BYTES)
    refused(rules.check_signature, {"inputs": []}, rules.SIGNATURE_MAX_BYTES + 1)


# models:/ URIs


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/m/1", ModelUri("m", version=1)),
        ("models:/m/007", ModelUri("m", version=7)),
        ("models:/fraud/scoring/12", ModelUri("fraud/scoring", version=12)),
        ("models:/m/latest", ModelUri("m", latest=True)),
        ("models:/m/Latest", ModelUri("m", latest=True)),
        ("models:/m/Production", ModelUri("m", stage=Stage.PRODUCTION)),
        ("models:/m/staging", ModelUri("m", stage=Stage.STAGING)),
        ("models:/m/NONE", ModelUri("m", stage=Stage.NONE)),
        ("models:/m/Archived", ModelUri("m", stage=Stage.ARCHIVED)),
        ("models:/m@champion", ModelUri("m", alias="champion")),
        ("models:/fraud/scoring@champion", ModelUri("fraud/scoring", alias="champion")),
        (f"models:/m/{rules.VERSION_MAX}", ModelUri("m", version=rules.VERSION_MAX)),
    ],
)
def test_uri_parsed(uri, expected):
    assert parse_model_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "m/1",
        "models:m/1",
        "model:/m/1",
        "runs:/abc/model",
        "models:/",
        "models:/m",
        "models:/m/",
        "models://1",
        "models:/m/bogus",
        "models:/m/-1",
        "models:/m/1.0",
        "models:/m/²",
        "models:/m/１",
        "models:/m/1\n",
        f"models:/m/{rules.VERSION_MAX + 1}",
        "models:/m/99999999999999999999999999",
        "models:/m@",
        "models:/@champion",
        "models:/m@1bad",
        "models:/m@latest",
        "models:/m@has space",
        "models:/has space/1",
        "models:/../1",
        "models:/a/../b/1",
        "models:/m/1" + "1" * 600,
    ],
)
def test_uri_refused(uri):
    refused(parse_model_uri, uri)


def test_uri_error_lists_the_forms():
    assert "models:/NAME@ALIAS" in refused(parse_model_uri, "models:/m").message


# Commands


def test_new_model_validate():
    NewModel("m", description="d" * rules.DESCRIPTION_MAX, owner="o" * 256, tags={"k": "v"}).validate()
    NewModel("m", owner="").validate()  # empty owner falls back to the caller
    refused(NewModel("bad name").validate)
    refused(NewModel("m", description="d" * (rules.DESCRIPTION_MAX + 1)).validate)
    refused(NewModel("m", owner="o" * 257).validate)
    refused(NewModel("m", tags={"k": "v" * (rules.TAG_VALUE_MAX + 1)}).validate)


def test_model_changes_validate():
    ModelChanges().validate()
    ModelChanges(description="").validate()  # clears the description
    refused(ModelChanges(description="d" * (rules.DESCRIPTION_MAX + 1)).validate)
    assert refused(ModelChanges(owner="").validate).field == "owner"
    refused(ModelChanges(owner="o" * 257).validate)


def test_version_changes_validate():
    VersionChanges().validate()
    VersionChanges(description="d" * rules.DESCRIPTION_MAX).validate()
    refused(VersionChanges(description="d" * (rules.DESCRIPTION_MAX + 1)).validate)


def full_version(**changes) -> NewVersion:
    values = dict(
        model_name="fraud/scoring",
        description="d",
        flavor="sklearn",
        signature={"inputs": [{"name": "x", "type": "double"}], "outputs": []},
        run=RunRef(TrackerKind.MLFLOW, "run-1", "https://mlflow/runs/1"),
        code=CodeRef("https://git/repo", "abcdef1"),
        artifact=ArtifactRef("s3://bucket/m", SHA, 10),
        metrics=(Metric("acc", 0.9), Metric("acc", 0.8, "test"), Metric("acc", 0.7, None, 1)),
        params={"lr": "0.1"},
        tags={"k": "v"},
    )
    values.update(changes)
    return NewVersion(**values)


def test_new_version_valid():
    full_version().validate()
    NewVersion("m").validate()
    full_version(artifact=ArtifactRef("s3://x", None, rules.ARTIFACT_SIZE_MAX)).validate()
    full_version(artifact=ArtifactRef("s3://x", None, 0)).validate()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"model_name": ""}, "name"),
        ({"model_name": "a/../b"}, "name"),
        ({"description": "d" * (rules.DESCRIPTION_MAX + 1)}, "description"),
        ({"flavor": "f" * 101}, "flavor"),
        ({"signature": [1]}, "signature"),
        ({"signature": {"inputs": [], "other": 1}}, "signature"),
        ({"signature": {"inputs": "x" * rules.SIGNATURE_MAX_BYTES}}, "signature"),
        ({"signature": {"inputs": [math.nan]}}, "signature"),
        ({"signature": {"inputs": {"max": math.inf}}}, "signature"),
        ({"run": RunRef(TrackerKind.OTHER, "")}, "run.runId"),
        ({"run": RunRef(TrackerKind.OTHER, "r" * 257)}, "run.runId"),
        ({"run": RunRef(TrackerKind.OTHER, "r", "u" * 2001)}, "run.runUri"),
        ({"code": CodeRef("", "abcdef1")}, "code.repositoryUrl"),
        ({"code": CodeRef("https://git/repo", "nothex!")}, "code.commitSha"),
        ({"code": CodeRef("https://git/repo", "ABCDEF1")}, "code.commitSha"),
        ({"artifact": ArtifactRef("")}, "artifact.uri"),
        ({"artifact": ArtifactRef("s3://x", "sha256:nothex")}, "artifact.digest"),
        ({"artifact": ArtifactRef("s3://x", None, -1)}, "artifact.size"),
        ({"artifact": ArtifactRef("s3://x", None, rules.ARTIFACT_SIZE_MAX + 1)}, "artifact.size"),
        ({"metrics": (Metric("acc", math.inf),)}, "metrics"),
        ({"metrics": (Metric("acc", math.nan),)}, "metrics"),
        ({"metrics": (Metric("acc", 1.0, None, -1),)}, "metrics"),
        ({"metrics": (Metric("acc", 1.0, "test"), Metric("acc", 2.0, "test"))}, "metrics"),
        ({"metrics": (Metric("acc", 1.0, "d" * 501),)}, "metrics[acc].dataset"),
        ({"metrics": tuple(Metric(f"m{i}", 1.0) for i in range(rules.MAX_ENTRIES + 1))}, "metrics"),
        ({"params": {"lr": "v" * (rules.PARAM_VALUE_MAX + 1)}}, "params[lr]"),
        ({"tags": {"": "v"}}, "tags"),
    ],
)
def test_new_version_refused(changes, field):
    assert refused(full_version(**changes).validate).field == field


def test_canonical_version_writes_the_digest_one_way():
    bare = full_version(artifact=ArtifactRef("s3://x", SHA, 1))
    prefixed = full_version(artifact=ArtifactRef("s3://x", f"sha256:{SHA}", 1))
    assert bare.canonical() == prefixed.canonical() == prefixed
    assert bare.canonical().artifact.digest == f"sha256:{SHA}"
    assert NewVersion("m").canonical() == NewVersion("m")
    assert full_version(artifact=ArtifactRef("s3://x")).canonical().artifact == ArtifactRef("s3://x")
