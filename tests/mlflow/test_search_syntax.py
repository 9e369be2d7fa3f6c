"""MLflow's search syntax as the MLflow door reads it: clauses, translation to the registry's filters, refusals."""

from __future__ import annotations

import pytest

from app.domain.errors import BadUserInput
from app.domain.queries import Direction, ModelOrderField, NumberMatch, TagMatch, TextMatch, VersionOrderField
from app.mlflow import search
from app.mlflow.names import to_mlflow, to_modelreg

pytestmark = pytest.mark.backend_independent


def test_names_map_one_to_one():
    for name in ["fraud/scorer", "fraud/cards/v2.1", "churn", "a.b"]:
        assert to_modelreg(to_mlflow(name)) == name
    assert to_mlflow("fraud/cards/scorer") == "fraud~cards~scorer"
    assert to_modelreg("fraud/scorer") == "fraud/scorer"  # a '/' the client let through means the same


def test_model_filter_with_what_mlflows_client_adds():
    # MlflowClient.search_registered_models appends the prompt exclusion to every filter.
    parsed = search.model_filter("name LIKE 'fraud~%' AND tag.`mlflow.prompt.is_prompt` != 'true'")
    assert parsed.name == TextMatch(like="fraud/%")
    assert parsed.tags == (TagMatch("mlflow.prompt.is_prompt", not_equals="true"),)


def test_version_filter_covers_mlflows_attributes():
    parsed = search.version_filter(
        "name = 'team~m' AND run_id IN ('a', \"b\") AND source_path ILIKE 's3://%' "
        "AND version_number >= 2 AND version_number < 9 AND tags.\"my key\" = 'it''s'"
    )
    assert parsed.model_name == TextMatch(equals="team/m")
    assert parsed.run_id == TextMatch(one_of=("a", "b"))
    assert parsed.source == TextMatch(ilike="s3://%")
    assert parsed.number == NumberMatch(gte=2, lt=9)
    assert parsed.tags == (TagMatch("my key", value="it's"),)


def test_orders():
    assert search.model_order([]) == search.ModelOrder(ModelOrderField.NAME, Direction.ASC)
    assert search.model_order(["last_updated_timestamp DESC"]).field is ModelOrderField.UPDATED_AT
    assert search.version_order(["version_number"]) == search.VersionOrder(VersionOrderField.VERSION, Direction.ASC)


@pytest.mark.parametrize("text, says", [
    ("name", "ends too early"),
    ("name LIKE", "ends too early"),
    ("name ~ 'x'", "cannot read"),
    ("name = 'x' OR name = 'y'", "joined with AND"),
    ("owner = 'x'", "searched by name and tags"),
    ("name IN ('x')", "searched by name and tags"),
    ("tags.a > 'x'", "tags are compared"),
    ("name = 'a' AND name = 'b'", "one comparison of each kind"),
])
def test_model_filter_refusals_say_what_is_wrong(text, says):
    with pytest.raises(BadUserInput, match=says):
        search.model_filter(text)


@pytest.mark.parametrize("text, says", [
    ("version_number = 'x'", "version_number is compared"),
    ("run_id IN (1, 2)", "quoted strings"),
    ("stage = 'Production'", "not 'stage'"),
])
def test_version_filter_refusals(text, says):
    with pytest.raises(BadUserInput, match=says):
        search.version_filter(text)


def test_order_refusals():
    with pytest.raises(BadUserInput, match="order_by"):
        search.version_order(["last_updated_timestamp DESC"])
    with pytest.raises(BadUserInput, match="ASC or DESC"):
        search.model_order(["name SIDEWAYS"])
