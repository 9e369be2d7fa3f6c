"""Importing a registry from MLflow (``modelreg import mlflow``, docs/mlflow-import.md): what was imported, and the
rules that turn MLflow's state into modelreg's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .entities import Stage, VersionStatus
from .errors import BadUserInput

SOURCE_MAX = 500  # the tracking server's URL, as the bookkeeping table stores it
MLFLOW_STAGES = {
    "none": Stage.NONE,
    "staging": Stage.STAGING,
    "production": Stage.PRODUCTION,
    "archived": Stage.ARCHIVED,
}


@dataclass(frozen=True)
class ImportedVersion:
    """An MLflow version already imported: the modelreg version it became, as it is now."""

    mlflow_version: int
    version_id: int
    number: int
    status: VersionStatus
    stage: Stage
    status_message: str | None = None


@dataclass(frozen=True)
class ImportedModel:
    """An MLflow registered model already imported, with its imported versions (by MLflow number), the modelreg
    model's aliases (alias -> version number) and the next version number it hands out."""

    model_id: int
    name: str
    next_version: int
    versions: dict[int, ImportedVersion] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)


def check_source(tracking_uri: str) -> str:
    """The tracking server's URL as the import records it (no trailing slash): http(s) only."""
    uri = tracking_uri.strip().rstrip("/")
    if not uri.startswith(("http://", "https://")) or len(uri) > SOURCE_MAX or len(uri) < len("http://x"):
        raise BadUserInput(
            f"--tracking-uri must be the http(s) URL of an MLflow tracking server (at most {SOURCE_MAX} characters), "
            f"not {tracking_uri[:80]!r}",
            field="tracking_uri",
        )
    return uri


def stage_of(mlflow_stage: str | None) -> Stage:
    """modelreg's stage for MLflow's ``current_stage`` (None, Staging, Production, Archived)."""
    found = MLFLOW_STAGES.get((mlflow_stage or "None").lower())
    if found is None:
        raise BadUserInput(f"unknown MLflow stage {mlflow_stage!r}", field="current_stage")
    return found


def planned_stages(stages: dict[int, Stage]) -> dict[int, tuple[Stage, str | None]]:
    """The stage each MLflow version (by number) takes in modelreg, with a note when it differs from MLflow's.

    MLflow lets several versions sit in Production; modelreg holds one PRODUCTION version per model. The one MLflow
    serves for ``models:/NAME/Production`` (the highest version number in Production) keeps PRODUCTION; the others
    are ARCHIVED, with a note."""
    in_production = sorted(number for number, stage in stages.items() if stage is Stage.PRODUCTION)
    winner = in_production[-1] if in_production else None
    planned: dict[int, tuple[Stage, str | None]] = {}
    for number, stage in stages.items():
        if stage is Stage.PRODUCTION and number != winner:
            planned[number] = (
                Stage.ARCHIVED,
                f"in Production in MLflow beside version {winner}, which models:/NAME/Production resolves to: "
                "archived (modelreg holds one PRODUCTION version per model)",
            )
        else:
            planned[number] = (stage, None)
    return planned


def stage_to_record(wanted: Stage, status: VersionStatus, in_production: list[int]) -> tuple[Stage, str | None]:
    """The stage an imported version gets now, and a note when it cannot get the one it had in MLflow: a version
    whose files could not be copied keeps NONE, and PRODUCTION is refused while another version holds it."""
    if wanted is Stage.NONE:
        return Stage.NONE, None
    if status is not VersionStatus.READY:
        return Stage.NONE, f"stage {wanted.value} not imported: the version is {status.value}"
    if wanted is Stage.PRODUCTION and in_production:
        return Stage.NONE, (
            f"stage PRODUCTION not imported: version {in_production[0]} holds PRODUCTION in modelreg; "
            "request a transition to move it"
        )
    return wanted, None


def from_millis(millis: Any) -> datetime | None:
    """An MLflow timestamp (epoch milliseconds, a number or a numeric string) as a UTC time."""
    if millis in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(millis) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def stage_reason(source: str, original: dict[str, Any]) -> str:
    """The stage history's reason for an imported stage: where it came from, with MLflow's times and user."""
    parts = [f"imported from MLflow {source} ({original.get('name')} version {original.get('version')}"]
    changed = from_millis(original.get("last_updated_timestamp"))
    if changed is not None:
        parts.append(f", last updated {changed.isoformat().replace('+00:00', 'Z')}")
    if original.get("user_id"):
        parts.append(f", registered by {original['user_id']}")
    return "".join(parts) + ")"
