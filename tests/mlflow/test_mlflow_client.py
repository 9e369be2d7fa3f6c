"""MLflow's own client (the pinned ``mlflow`` release) against a live modelreg: the registry calls a notebook or a
pipeline makes, answered on modelreg's services, rules and audit log (docs/mlflow.md)."""

from __future__ import annotations

import re
import secrets

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

pytestmark = pytest.mark.e2e

APPROVE = """
mutation Approve($id: ID!) {
  approveTransitionRequest(input: {id: $id, comment: "looks good"}) { transitionRequest { status } }
}"""
VERSION = """
query Version($name: String!) {
  modelVersion(name: $name, version: 1) {
    status stage run { tracker runId } metrics { name value } params { name value }
    artifact { uri digest files { path digest size } }
  }
}"""
RUN = """
query Run($runId: String!) {
  run(tracker: MLFLOW, runId: $runId) { runUri experimentName params { name value } metrics { name value } }
}"""
AUDIT = """
query Denied($action: String!) {
  auditEvents(filter: {action: $action, outcome: FORBIDDEN}, first: 5) { nodes { actor { subject } action outcome } }
}"""


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@pytest.fixture
def client(mlflow_registry, mlflow_server, monkeypatch) -> MlflowClient:
    """MLflow's client as a data scientist who may also promote (roles data-scientist and mlops)."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", mlflow_registry.token("data-scientist", "mlops", sub="ds-1"))
    mlflow.set_tracking_uri(mlflow_server.url)
    mlflow.set_registry_uri(mlflow_registry.url)
    return MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_registry.url)


def error_of(call) -> MlflowException:
    with pytest.raises(MlflowException) as raised:
        call()
    return raised.value


def test_registered_models_round_trip(client):
    name = unique("mlflow-crud")
    created = client.create_registered_model(name, tags={"team": "risk"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "risk"})
    assert error_of(lambda: client.create_registered_model(name)).error_code == "RESOURCE_ALREADY_EXISTS"

    client.update_registered_model(name, description="second")
    client.set_registered_model_tag(name, "tier", "gold")
    client.delete_registered_model_tag(name, "team")
    model = client.get_registered_model(name)
    assert (model.description, model.tags) == ("second", {"tier": "gold"})

    renamed = error_of(lambda: client.rename_registered_model(name, name + "-new"))
    assert renamed.error_code == "INVALID_STATE" and "does not rename" in renamed.message

    client.delete_registered_model(name)
    missing = error_of(lambda: client.get_registered_model(name))
    assert missing.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_registered_models_with_filters_order_and_pages(client):
    prefix = unique("mlflow-search")
    for index in range(5):
        client.create_registered_model(f"{prefix}~m{index}", tags={"parity": "even" if index % 2 == 0 else "odd"})

    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}~%'", order_by=["name DESC"])
    assert [m.name for m in found] == [f"{prefix}~m{i}" for i in (4, 3, 2, 1, 0)]
    even = client.search_registered_models(filter_string=f"name LIKE '{prefix}%' AND tags.parity = 'even'")
    assert sorted(m.name for m in even) == [f"{prefix}~m0", f"{prefix}~m2", f"{prefix}~m4"]
    upper = client.search_registered_models(filter_string=f"name ILIKE '{prefix.upper()}~M1'")
    assert [m.name for m in upper] == [f"{prefix}~m1"]

    first = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=2)
    second = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=2,
                                             page_token=first.token)
    third = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=2,
                                            page_token=second.token)
    names = [m.name for page in (first, second, third) for m in page]
    assert names == sorted(names) and len(set(names)) == 5 and not third.token

    bad = error_of(lambda: client.search_registered_models(filter_string="name LIKE"))
    assert bad.error_code == "INVALID_PARAMETER_VALUE"


def test_versions_tags_search_and_latest(client):
    name = unique("mlflow-versions")
    client.create_registered_model(name)
    # An S3 source the registry cannot read stays an external reference, READY at once, as MLflow keeps it.
    first = client.create_model_version(name, "s3://bucket/models/a", run_id="run-a", tags={"k": "1"},
                                        description="one")
    second = client.create_model_version(name, "s3://bucket/models/b", run_id="run-b")
    assert (first.version, first.status, first.source, first.run_id) == ("1", "READY", "s3://bucket/models/a", "run-a")
    assert client.get_model_version_download_uri(name, "1") == "s3://bucket/models/a"

    client.update_model_version(name, "1", description="uno")
    client.set_model_version_tag(name, "2", "validated", "yes")
    client.delete_model_version_tag(name, "1", "k")
    assert client.get_model_version(name, "1").description == "uno"
    assert client.get_model_version(name, "1").tags == {}

    by_run = client.search_model_versions(f"name = '{name}' AND run_id IN ('run-b', 'nope')")
    assert [v.version for v in by_run] == [second.version]
    by_tag = client.search_model_versions(f"name='{name}' AND tags.validated = 'yes'")
    assert [v.version for v in by_tag] == ["2"]
    by_number = client.search_model_versions(f"name='{name}' AND version_number >= 2")
    assert [v.version for v in by_number] == ["2"]
    by_source = client.search_model_versions(f"name='{name}' AND source_path LIKE 's3://bucket/models/a'")
    assert [v.version for v in by_source] == ["1"]
    ordered = client.search_model_versions(f"name='{name}'", order_by=["version_number ASC"])
    assert [v.version for v in ordered] == ["1", "2"]

    latest = client.get_latest_versions(name)
    assert [(v.version, v.current_stage) for v in latest] == [("2", "None")]

    client.delete_model_version(name, "2")
    assert error_of(lambda: client.get_model_version(name, "2")).error_code == "RESOURCE_DOES_NOT_EXIST"


def test_namespaced_names_and_aliases(client):
    # modelreg's `team/model` is `team~model` through the MLflow API: the client refuses '/' in alias calls.
    name = f"{unique('team')}~scorer"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/scorer")
    client.set_registered_model_alias(name, "candidate", "1")
    by_alias = client.get_model_version_by_alias(name, "candidate")
    assert (by_alias.name, by_alias.version, by_alias.aliases) == (name, "1", ["candidate"])
    assert client.get_registered_model(name).aliases == {"candidate": "1"}
    client.delete_registered_model_alias(name, "candidate")
    assert error_of(lambda: client.get_model_version_by_alias(name, "candidate")).error_code == \
        "RESOURCE_DOES_NOT_EXIST"


def test_stage_transition_is_a_transition_request(client, mlflow_registry):
    name = unique("mlflow-stages")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/stages")

    staged = client.transition_model_version_stage(name, "1", "Staging")  # the policy needs no approval
    assert staged.current_stage == "Staging"

    pending = error_of(lambda: client.transition_model_version_stage(name, "1", "Production"))
    assert pending.error_code == "INVALID_STATE"
    assert "needs 1 approval" in pending.message and "pending" in pending.message
    assert client.get_model_version(name, "1").current_stage == "Staging"  # nothing moved yet

    request_id = re.search(r"transition request (\S+) is pending", pending.message).group(1)
    approved = mlflow_registry.graphql(APPROVE, {"id": request_id}, "approver", sub="approver-1")
    assert approved["approveTransitionRequest"]["transitionRequest"]["status"] == "APPLIED"
    assert client.get_model_version(name, "1").current_stage == "Production"
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["1"]


def test_refusals_answer_in_mlflows_format_and_are_audited(client, mlflow_registry, monkeypatch):
    name = unique("mlflow-denied")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", mlflow_registry.token("auditor", sub="auditor-1"))
    denied = error_of(lambda: client.create_registered_model(name))
    assert denied.error_code == "PERMISSION_DENIED" and denied.get_http_status_code() == 403
    events = mlflow_registry.graphql(AUDIT, {"action": "model.create"}, "auditor")["auditEvents"]["nodes"]
    assert {"actor": {"subject": "auditor-1"}, "action": "model.create", "outcome": "FORBIDDEN"} in events

    anonymous = httpx.get(f"{mlflow_registry.url}/api/2.0/mlflow/registered-models/get", params={"name": name})
    assert anonymous.status_code == 401 and anonymous.json()["error_code"] == "UNAUTHENTICATED"
    unknown = httpx.get(f"{mlflow_registry.url}/api/2.0/mlflow/nothing-here",
                        headers={"Authorization": f"Bearer {mlflow_registry.token('mlops')}"})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


class AddOne(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return [value + 1 for value in model_input]


def test_log_to_mlflow_register_into_modelreg_and_load_back(client, mlflow_registry):
    name = unique("mlflow-e2e")
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_metric("accuracy", 0.93)
        info = mlflow.pyfunc.log_model(name="model", python_model=AddOne())

    registered = mlflow.register_model(info.model_uri, name)  # waits while modelreg copies the files
    assert (registered.version, registered.source) == ("1", info.model_uri)
    version = mlflow_registry.graphql(VERSION, {"name": name}, "auditor")["modelVersion"]
    assert version["status"] == "READY"
    assert version["artifact"]["uri"] == f"models:/{name}/1" and version["artifact"]["digest"].startswith("sha256:")
    assert {"MLmodel", "python_model.pkl"} <= {file["path"] for file in version["artifact"]["files"]}
    # The logged model's run becomes the version's lineage Run, as MLflow describes it; its params and latest
    # metrics are the version's own too, so promotion gates on metrics apply.
    assert version["run"] == {"tracker": "MLFLOW", "runId": run.info.run_id}
    assert (version["metrics"], version["params"]) == ([{"name": "accuracy", "value": 0.93}],
                                                       [{"name": "lr", "value": "0.1"}])
    lineage = mlflow_registry.graphql(RUN, {"runId": run.info.run_id}, "auditor")["run"]
    assert lineage["experimentName"] == "Default" and lineage["runUri"].endswith(f"/runs/{run.info.run_id}")
    assert (lineage["params"], lineage["metrics"]) == ([{"name": "lr", "value": "0.1"}],
                                                       [{"name": "accuracy", "value": 0.93}])

    pending = error_of(lambda: client.set_registered_model_alias(name, "champion", "1"))  # protected
    request_id = re.search(r"transition request (\S+) is pending", pending.message).group(1)
    mlflow_registry.graphql(APPROVE, {"id": request_id}, "approver", sub="approver-1")

    download = client.get_model_version_download_uri(name, "1")
    assert download == f"{mlflow_registry.url}/api/2.0/mlflow-artifacts/artifacts/models/{name}/1"
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert loaded.predict([1, 41]) == AddOne().predict(None, [1, 41]) == [2, 42]
    assert mlflow.pyfunc.load_model(f"models:/{name}/1").predict([0]) == [1]

    copied = client.copy_model_version(f"models:/{name}@champion", f"{name}-copy")  # shares the stored files
    assert (copied.version, copied.status) == ("1", "READY")
    copy = mlflow_registry.graphql(VERSION, {"name": f"{name}-copy"}, "auditor")["modelVersion"]
    assert copy["artifact"]["digest"] == version["artifact"]["digest"]
    assert mlflow.pyfunc.load_model(f"models:/{name}-copy/1").predict([2]) == [3]

    client.transition_model_version_stage(name, "1", "Staging")  # the stage machine goes through Staging
    pending = error_of(lambda: client.transition_model_version_stage(name, "1", "Production"))
    request_id = re.search(r"transition request (\S+) is pending", pending.message).group(1)
    mlflow_registry.graphql(APPROVE, {"id": request_id}, "approver", sub="approver-1")
    assert mlflow.pyfunc.load_model(f"models:/{name}/Production").predict([5]) == [6]


def test_a_second_model_from_a_run_that_moved_on_links_the_same_run(client, mlflow_registry):
    name = unique("mlflow-two-from-one-run")
    with mlflow.start_run():
        mlflow.log_metric("loss", 0.5)
        first = mlflow.pyfunc.log_model(name="first", python_model=AddOne())
        mlflow.register_model(first.model_uri, name)
        mlflow.log_metric("loss", 0.2)  # the run goes on after its first registration
        second = mlflow.pyfunc.log_model(name="second", python_model=AddOne())
        assert mlflow.register_model(second.model_uri, name).version == "2"
    runs = [mlflow_registry.graphql(VERSION.replace("version: 1", f"version: {n}"), {"name": name}, "auditor")
            ["modelVersion"]["run"] for n in (1, 2)]
    assert runs[0] == runs[1] and runs[0]["tracker"] == "MLFLOW"
