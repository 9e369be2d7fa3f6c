"""What may be deleted, as pure functions: a model or a version is kept while anything still stands on it (a version
in PRODUCTION, an environment serving it, an alias, a version derived from it).

``services/models.py`` and ``services/versions.py`` read what a guard needs under the model's row lock, call it and
delete; each function here takes data and returns nothing or raises the error the caller sees. The guards run in a
fixed order, so a version kept for several reasons is refused for the first.
"""

from __future__ import annotations

from collections.abc import Sequence

from .entities import ModelVersion, Stage
from .errors import FailedPrecondition
from .lineage import label_of

# A DERIVED_FROM edge between two versions: (parent, child).
Derivation = tuple[ModelVersion, ModelVersion]

MAX_NAMED_CHILDREN = 10


def check_not_a_parent(derived: Sequence[Derivation], *, model_id: int | None = None) -> None:
    """FAILED_PRECONDITION naming the children (the first ten) of the versions to delete: deleting a parent would
    cut their lineage. ``model_id``: a whole model is being deleted, so derivations inside it do not count."""
    children = [(parent, child) for parent, child in derived if child.model_id != model_id]
    if not children:
        return
    names = ", ".join(f"{label_of(child)} (from {label_of(parent)})" for parent, child in children[:MAX_NAMED_CHILDREN])
    raise FailedPrecondition(
        f"other versions were derived from this one: {names}; delete them first, their lineage would lose its parent"
    )


def check_model_deletable(
    name: str,
    model_id: int,
    *,
    in_production: int,
    derived: Sequence[Derivation],
    deployed_in: Sequence[str],
) -> None:
    """FAILED_PRECONDITION unless model ``name`` may be deleted with all its versions: none of them is in
    PRODUCTION (``in_production``: how many are), versions of other models were not derived from them (``derived``:
    the derivations from its versions), and no environment serves it (``deployed_in``: the environments whose
    deployment of it has entries; one it was undeployed from does not count, and goes with the model)."""
    if in_production:
        raise FailedPrecondition(f"model {name!r} has a version in PRODUCTION; archive it before deleting the model")
    check_not_a_parent(derived, model_id=model_id)
    if deployed_in:
        raise FailedPrecondition(
            f"model {name!r} is deployed in {', '.join(sorted(deployed_in))}; undeploy it there first"
        )


def check_version_deletable(
    name: str,
    version: ModelVersion,
    *,
    derived: Sequence[Derivation],
    serving_in: Sequence[str],
    aliases: Sequence[str],
) -> None:
    """FAILED_PRECONDITION unless ``version`` of model ``name`` may be deleted: it is not in PRODUCTION, no version
    was derived from it (``derived``), no environment serves it (``serving_in``) and no alias points at it
    (``aliases``, in the order they are named)."""
    number = version.version
    if version.stage is Stage.PRODUCTION:
        raise FailedPrecondition(f"version {number} of {name!r} is in PRODUCTION; archive it before deleting it")
    check_not_a_parent(derived)
    if serving_in:
        raise FailedPrecondition(
            f"version {number} of {name!r} is deployed in {', '.join(sorted(serving_in))}; "
            "deploy another version there first"
        )
    if aliases:
        names = ", ".join(f"@{alias}" for alias in aliases)
        raise FailedPrecondition(
            f"version {number} of {name!r} carries the alias(es) {names}; move or delete them first"
        )
