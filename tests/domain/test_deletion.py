"""The deletion guards (app/domain/deletion.py) as truth tables: a model or a version is kept while a version is in
PRODUCTION, deployed, aliased or a lineage parent, and the first reason that holds is the one given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.deletion import check_model_deletable, check_not_a_parent, check_version_deletable
from app.domain.entities import ModelVersion, Stage, VersionStatus
from app.domain.errors import FailedPrecondition

pytestmark = pytest.mark.backend_independent

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def version(number: int = 3, stage: Stage = Stage.STAGING, model: str = "m", model_id: int = 1) -> ModelVersion:
    return ModelVersion(id=100 * model_id + number, model_id=model_id, model_name=model, version=number,
                        status=VersionStatus.READY, stage=stage, description=None, flavor=None, signature=None,
                        run=None, code=None, artifact=None, params={}, created_at=NOW, created_by="dana",
                        updated_at=NOW)


def derived_in(model: str, model_id: int, *numbers: int, parent: int = 3) -> list[tuple[ModelVersion, ModelVersion]]:
    """Versions ``numbers`` of ``model`` derived from version ``parent`` of m."""
    return [(version(parent), version(number, model=model, model_id=model_id)) for number in numbers]


def refusal(call, *args, **kwargs) -> str | None:
    """The message of the FAILED_PRECONDITION a guard raises (never with a field), or None when it lets it pass."""
    try:
        call(*args, **kwargs)
    except FailedPrecondition as error:
        assert type(error) is FailedPrecondition and error.field is None
        return error.message
    return None


def derived_message(names: str) -> str:
    return (f"other versions were derived from this one: {names}; delete them first, "
            "their lineage would lose its parent")


OTHER = derived_in("other", 2, 1)  # models:/other/1 was derived from models:/m/3
OWN = derived_in("m", 1, 4)  # models:/m/4 was derived from models:/m/3
ELEVEN = derived_in("other", 2, *range(1, 12))
ELEVEN_NAMED = ", ".join(f"models:/other/{n} (from models:/m/3)" for n in range(1, 11))

# (derivations, model being deleted or None for one version) -> the children the refusal names, or None
PARENTS = [
    ([], None, None),
    ([], 1, None),
    (OTHER, None, "models:/other/1 (from models:/m/3)"),
    (OTHER, 1, "models:/other/1 (from models:/m/3)"),
    (OWN, None, "models:/m/4 (from models:/m/3)"),  # a version's siblings count
    (OWN, 1, None),  # ...but not when the whole model goes
    (OWN + OTHER, 1, "models:/other/1 (from models:/m/3)"),
    (OTHER + OWN, None, "models:/other/1 (from models:/m/3), models:/m/4 (from models:/m/3)"),  # in the given order
    ([(version(2), version(5, model="x/y", model_id=7)), (version(3), version(1, model="z", model_id=8))], 1,
     "models:/x/y/5 (from models:/m/2), models:/z/1 (from models:/m/3)"),
    (ELEVEN, None, ELEVEN_NAMED),  # the first ten only
    (OWN * 5 + ELEVEN, 1, ELEVEN_NAMED),  # ten named after dropping the model's own
    (derived_in("other", 1, 9), 1, None),  # what counts is the child's model id, not its name
]


@pytest.mark.parametrize("derived,model_id,names", PARENTS)
def test_a_lineage_parent_is_kept(derived, model_id, names):
    says = refusal(check_not_a_parent, derived, model_id=model_id)
    assert says == (None if names is None else derived_message(names))


IN_PRODUCTION = "model 'm' has a version in PRODUCTION; archive it before deleting the model"

# (versions in PRODUCTION, derivations, environments with a deployment) -> the refusal, or None
MODELS = [
    (0, [], [], None),
    (0, OWN, [], None),
    (1, [], [], IN_PRODUCTION),
    (2, [], [], IN_PRODUCTION),  # a corrupt count still refuses
    (0, OTHER, [], derived_message("models:/other/1 (from models:/m/3)")),
    (0, [], ["prod"], "model 'm' is deployed in prod; undeploy it there first"),
    (0, [], ["staging", "prod", "dev"], "model 'm' is deployed in dev, prod, staging; undeploy it there first"),
    (0, OWN, ["dev"], "model 'm' is deployed in dev; undeploy it there first"),
    # the first reason wins: PRODUCTION, then lineage, then deployments
    (1, OTHER, ["prod"], IN_PRODUCTION),
    (1, [], ["prod"], IN_PRODUCTION),
    (0, OTHER, ["prod"], derived_message("models:/other/1 (from models:/m/3)")),
]


@pytest.mark.parametrize("in_production,derived,deployed_in,says", MODELS)
def test_deleting_a_model(in_production, derived, deployed_in, says):
    assert refusal(check_model_deletable, "m", 1, in_production=in_production, derived=derived,
                   deployed_in=deployed_in) == says


def test_a_model_is_named_as_given():
    says = refusal(check_model_deletable, "team/it's", 1, in_production=1, derived=[], deployed_in=[])
    assert says == "model \"team/it's\" has a version in PRODUCTION; archive it before deleting the model"


V3 = "version 3 of 'm'"

# (stage, derivations, environments serving it, aliases) -> the refusal, or None
VERSIONS = [
    *((stage, [], [], [], None) for stage in (Stage.NONE, Stage.STAGING, Stage.ARCHIVED)),
    (Stage.PRODUCTION, [], [], [], f"{V3} is in PRODUCTION; archive it before deleting it"),
    (Stage.STAGING, OWN, [], [], derived_message("models:/m/4 (from models:/m/3)")),
    (Stage.ARCHIVED, OTHER, [], [], derived_message("models:/other/1 (from models:/m/3)")),
    (Stage.STAGING, [], ["prod"], [], f"{V3} is deployed in prod; deploy another version there first"),
    (Stage.STAGING, [], ["staging", "dev"], [],
     f"{V3} is deployed in dev, staging; deploy another version there first"),
    (Stage.STAGING, [], [], ["champion"], f"{V3} carries the alias(es) @champion; move or delete them first"),
    (Stage.NONE, [], [], ["b", "a"], f"{V3} carries the alias(es) @b, @a; move or delete them first"),  # as given
    # the first reason wins: PRODUCTION, then lineage, then deployments, then aliases
    (Stage.PRODUCTION, OTHER, ["prod"], ["champion"], f"{V3} is in PRODUCTION; archive it before deleting it"),
    (Stage.STAGING, OTHER, ["prod"], ["champion"], derived_message("models:/other/1 (from models:/m/3)")),
    (Stage.STAGING, [], ["prod"], ["champion"], f"{V3} is deployed in prod; deploy another version there first"),
]


@pytest.mark.parametrize("stage,derived,serving_in,aliases,says", VERSIONS)
def test_deleting_a_version(stage, derived, serving_in, aliases, says):
    assert refusal(check_version_deletable, "m", version(3, stage), derived=derived, serving_in=serving_in,
                   aliases=aliases) == says


def test_a_version_is_named_by_its_number_and_the_model_as_given():
    says = refusal(check_version_deletable, "x/y", version(12, Stage.STAGING), derived=[], serving_in=[],
                   aliases=["gold"])
    assert says == "version 12 of 'x/y' carries the alias(es) @gold; move or delete them first"
