"""The linking rules (app/domain/lineage_links.py) as truth tables: registering an identity again, adding an edge
again, frozen definitions of READY versions (also through their run), one producing run, and no cycles."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.domain.entities import ModelVersion, Stage, TrackerKind, VersionStatus
from app.domain.errors import Conflict, FailedPrecondition, RegistryError
from app.domain.lineage import CodeCommit, Dataset, EdgeKind, ExternalNode, NodeKind, NodeRef, Run, RunEnvironment
from app.domain.lineage_commands import NewCodeCommit, NewDataset, NewEdge, NewExternalNode, NewRun
from app.domain.lineage_links import (
    check_definition_open,
    check_found_after_race,
    check_no_cycle,
    check_one_producing_run,
    check_same_relation,
    check_unchanged,
    defines_run,
    differences,
    produces_version,
)

pytestmark = pytest.mark.backend_independent

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2026, 1, 2, tzinfo=UTC)
SHA = "sha256:" + "a" * 64
OTHER_SHA = "sha256:" + "b" * 64
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def refused(error: type[RegistryError], call, *args) -> RegistryError:
    with pytest.raises(error) as caught:
        call(*args)
    assert type(caught.value) is error
    return caught.value


# Registering an identity again.

DATASET = Dataset(id=1, name="churn", version="v1", uri="s3://d/churn", digest=SHA, format="parquet", size=10,
                  row_count=5, schema={"a": "int"}, source_system="lake", created_at=NOW, created_by="dana")
BY_DIGEST = replace(DATASET, version=None)
RUN = Run(id=2, tracker=TrackerKind.MLFLOW, run_id="r1", run_uri="http://t/r1", experiment_name="e", params={"lr": "1"},
          metrics={"auc": 0.9}, started_at=NOW, ended_at=LATER,
          environment=RunEnvironment("3.11", SHA, "img:1"), created_at=NOW, created_by="dana")
CODE = CodeCommit(id=3, repository_url="https://git.example/team/repo.git", commit_sha=COMMIT, branch="main",
                  created_at=NOW, created_by="dana")
EXTERNAL = ExternalNode(id=4, name="feature store", category="store", uri="http://fs", description="d",
                        properties={"k": 1}, created_at=NOW, created_by="dana")

# (registration, node registered under its identity) -> the fields that differ, camelCase, in the order compared
AGAIN = [
    (NewDataset("churn", "v1"), DATASET, []),  # fields not given are not compared
    (NewDataset("churn", "v1", uri="s3://d/churn", digest=SHA, format="parquet", size=10, row_count=5,
                schema={"a": "int"}, source_system="lake"), DATASET, []),
    (NewDataset("churn", "v1", uri="s3://elsewhere"), DATASET, ["uri"]),
    (NewDataset("churn", "v1", digest=OTHER_SHA, row_count=6, source_system="x"), DATASET,
     ["digest", "rowCount", "sourceSystem"]),
    (NewDataset("churn", "v1", schema={}), DATASET, []),  # {} counts as not given
    (NewDataset("churn", "v1", schema={"b": "int"}), DATASET, ["schema"]),
    (NewDataset("churn", "v1", uri="s3://d/churn"), replace(DATASET, uri=None), []),  # not set on the node
    (NewDataset("renamed", digest=SHA), BY_DIGEST, []),  # by digest alone: the content under whatever name
    (NewDataset("renamed", "v1"), DATASET, ["name"]),
    (NewRun(TrackerKind.MLFLOW, "r1"), RUN, []),
    (NewRun(TrackerKind.MLFLOW, "r1", params={"lr": "2"}, metrics={"auc": 0.9}, ended_at=NOW), RUN,
     ["params", "endedAt"]),
    (NewRun(TrackerKind.MLFLOW, "r1", params={}), RUN, []),
    (NewRun(TrackerKind.MLFLOW, "r1", environment=RunEnvironment("3.12", SHA, None)), RUN,
     ["environment.pythonVersion"]),
    (NewRun(TrackerKind.MLFLOW, "r1", experiment_name="f", environment=RunEnvironment(None, OTHER_SHA, "img:2")), RUN,
     ["experimentName", "environment.requirementsDigest", "environment.containerImage"]),
    (NewRun(TrackerKind.MLFLOW, "r1", environment=RunEnvironment("3.12")), replace(RUN, environment=RunEnvironment()),
     []),
    (NewCodeCommit(CODE.repository_url, COMMIT), CODE, []),
    (NewCodeCommit(CODE.repository_url, COMMIT, branch="main"), CODE, []),
    (NewCodeCommit(CODE.repository_url, COMMIT, branch="dev"), CODE, ["branch"]),
    (NewExternalNode("feature store", category="store"), EXTERNAL, []),
    (NewExternalNode("feature store", description="e", properties={"k": 2}), EXTERNAL, ["description", "properties"]),
]


@pytest.mark.parametrize("new,existing,differing", AGAIN)
def test_registering_an_identity_again(new, existing, differing):
    assert differences(new, existing) == differing
    if not differing:
        check_unchanged(new, existing)
        return
    error = refused(Conflict, check_unchanged, new, existing)
    assert error.field == differing[0]
    assert error.message.endswith(
        f" is already registered with another {', '.join(differing)}; registered nodes never change "
        "(register a new version of it)")


@pytest.mark.parametrize("new,existing,says", [
    (NewDataset("churn", "v1", uri="x"), DATASET, "dataset 'churn v1' is already registered with another uri"),
    (NewDataset("churn", digest=SHA, format="csv"), BY_DIGEST,
     "dataset 'churn' is already registered with another format"),
    (NewRun(TrackerKind.MLFLOW, "r1", run_uri="x"), RUN,
     "run 'MLFLOW run r1' is already registered with another runUri"),
    (NewCodeCommit(CODE.repository_url, COMMIT, branch="dev"), CODE,
     "code commit 'team/repo@0123456' is already registered with another branch"),
    (NewExternalNode("feature store", uri="x"), EXTERNAL,
     "external node 'feature store' is already registered with another uri"),
])
def test_a_conflicting_registration_names_the_node(new, existing, says):
    assert refused(Conflict, check_unchanged, new, existing).message.startswith(says + ";")


@pytest.mark.parametrize("new,name", [
    (NewDataset("churn", "v1"), "dataset"), (NewRun(TrackerKind.MLFLOW, "r1"), "run"),
    (NewCodeCommit("https://git.example/r", COMMIT), "code commit"), (NewExternalNode("fs"), "external node"),
])
def test_a_lost_race_is_settled_by_the_winner(new, name):
    error = refused(Conflict, check_found_after_race, new, None)
    assert error.message == f"this {name} collides with another registration made at the same time; try again"
    assert error.field is None
    check_found_after_race(new, object())


# Adding an edge again.

DATASET_REF, RUN_REF = NodeRef(NodeKind.DATASET, 1), NodeRef(NodeKind.RUN, 2)
VERSION_REF = NodeRef(NodeKind.MODEL_VERSION, 103)


@pytest.mark.parametrize("relation,existing,conflict", [
    (None, None, False), (None, "fine-tuned", False),  # not giving one asks for the edge as it is
    ("fine-tuned", "fine-tuned", False),
    ("distilled", "fine-tuned", True), ("distilled", None, True), ("", None, True),
])
def test_an_edge_never_changes(relation, existing, conflict):
    edge = NewEdge(EdgeKind.DERIVED_FROM, VERSION_REF, NodeRef(NodeKind.MODEL_VERSION, 104), relation)
    if not conflict:
        check_same_relation(edge, existing)
        return
    error = refused(Conflict, check_same_relation, edge, existing)
    assert error.field == "relation"
    assert error.message == f"this DERIVED_FROM edge exists with relation {existing!r}; edges never change"


# Frozen definitions.


def version(number: int = 3, status: VersionStatus = VersionStatus.READY) -> ModelVersion:
    return ModelVersion(id=100 + number, model_id=1, model_name="m", version=number, status=status,
                        stage=Stage.NONE, description=None, flavor=None, signature=None, run=None, code=None,
                        artifact=None, params={}, created_at=NOW, created_by="dana", updated_at=NOW)


READY = version(3)
PENDING, FAILED = version(4, VersionStatus.PENDING_REGISTRATION), version(5, VersionStatus.FAILED_REGISTRATION)
UPSTREAM = {EdgeKind.PRODUCED: RUN_REF, EdgeKind.BUILT_FROM: NodeRef(NodeKind.CODE_COMMIT, 9),
            EdgeKind.DERIVED_FROM: NodeRef(NodeKind.MODEL_VERSION, 99)}
DEFINING = {EdgeKind.TRAINED_ON, EdgeKind.VALIDATED_ON, EdgeKind.PRODUCED, EdgeKind.BUILT_FROM}
INTO_VERSION = [EdgeKind.TRAINED_ON, EdgeKind.VALIDATED_ON, EdgeKind.EVALUATED_ON, EdgeKind.PRODUCED,
                EdgeKind.BUILT_FROM, EdgeKind.DERIVED_FROM]
INTO_RUN = [EdgeKind.TRAINED_ON, EdgeKind.VALIDATED_ON, EdgeKind.EVALUATED_ON, EdgeKind.BUILT_FROM]


def edge(kind: EdgeKind, downstream: NodeRef) -> NewEdge:
    return NewEdge(kind, UPSTREAM.get(kind, DATASET_REF), downstream)


def frozen_message(kind: EdgeKind, number: int) -> str:
    return (f"models:/m/{number} is READY: its {kind.value} lineage was fixed when it was registered (give it with "
            "createModelVersion); only EVALUATED_ON and DERIVED_FROM edges can be added later")


@pytest.mark.parametrize("kind", INTO_VERSION)
@pytest.mark.parametrize("downstream", [READY, PENDING, FAILED])
def test_what_defines_a_ready_version_is_frozen(kind, downstream):
    new = edge(kind, VERSION_REF)
    assert defines_run(new) is False
    if kind in DEFINING and downstream.status is VersionStatus.READY:
        error = refused(FailedPrecondition, check_definition_open, new, downstream, [PENDING])
        assert error.field == "kind" and error.message == frozen_message(kind, 3)
    else:
        check_definition_open(new, downstream, [READY])  # what a run produced is not read for a version


@pytest.mark.parametrize("kind", INTO_RUN)
@pytest.mark.parametrize("produced,named", [
    ([], None), ([PENDING], None), ([PENDING, FAILED], None),
    ([READY], 3), ([PENDING, READY], 3), ([version(7), READY], 7),  # the first READY one is named
])
def test_so_is_the_run_that_produced_it(kind, produced, named):
    new = edge(kind, RUN_REF)
    assert defines_run(new) is (kind in DEFINING)
    if kind in DEFINING and named is not None:
        error = refused(FailedPrecondition, check_definition_open, new, None, produced)
        assert error.field == "kind" and error.message == frozen_message(kind, named)
    else:
        check_definition_open(new, None, produced)


@pytest.mark.parametrize("new", [
    NewEdge(EdgeKind.PRODUCED, RUN_REF, DATASET_REF),
    NewEdge(EdgeKind.TRAINED_ON, DATASET_REF, NodeRef(NodeKind.EXTERNAL, 5)),
    NewEdge(EdgeKind.DEPLOYED_AS, VERSION_REF, NodeRef(NodeKind.EXTERNAL, 5)),
])
def test_other_nodes_are_never_frozen(new):
    assert defines_run(new) is False
    check_definition_open(new, None, [READY])


# One producing run.


@pytest.mark.parametrize("kind,downstream,runs,refusal", [
    (EdgeKind.PRODUCED, READY, 0, False), (EdgeKind.PRODUCED, READY, 1, True), (EdgeKind.PRODUCED, PENDING, 2, True),
    (EdgeKind.PRODUCED, None, 1, False),  # into a dataset: the rule is about versions only
    (EdgeKind.TRAINED_ON, READY, 1, False), (EdgeKind.BUILT_FROM, READY, 1, False),
    (EdgeKind.DERIVED_FROM, READY, 1, False),
])
def test_a_version_has_one_producing_run(kind, downstream, runs, refusal):
    new = edge(kind, VERSION_REF if downstream is not None else DATASET_REF)
    assert produces_version(new, downstream) is (kind is EdgeKind.PRODUCED and downstream is not None)
    if not refusal:
        check_one_producing_run(new, downstream, runs)
        return
    error = refused(FailedPrecondition, check_one_producing_run, new, downstream, runs)
    assert error.field == "upstreamId"
    assert error.message == (f"models:/m/{downstream.version} already has a producing run; "
                             "a version is produced by one run")


# No cycles.


@pytest.mark.parametrize("cycle,says", [
    ([], None),
    (["models:/m/4", "models:/m/3", "models:/m/4"],
     "this DERIVED_FROM edge would close a cycle: models:/m/4 -> models:/m/3 -> models:/m/4"),
    (["churn v1", "MLFLOW run r1", "node 12", "churn v1"],
     "this DERIVED_FROM edge would close a cycle: churn v1 -> MLFLOW run r1 -> node 12 -> churn v1"),
])
def test_the_graph_has_no_cycles(cycle, says):
    new = NewEdge(EdgeKind.DERIVED_FROM, NodeRef(NodeKind.MODEL_VERSION, 103), NodeRef(NodeKind.MODEL_VERSION, 104))
    if says is None:
        check_no_cycle(new, cycle)
        return
    error = refused(FailedPrecondition, check_no_cycle, new, cycle)
    assert error.field == "upstreamId" and error.message == says
