"""What an import did: counts per kind (imported, skipped, failed), the failures with their reasons, and notes where
modelreg's state differs from MLflow's on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("models", "versions", "stages", "aliases")


@dataclass
class Counts:
    imported: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass
class Summary:
    tracking_uri: str
    dry_run: bool = False
    counts: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def imported(self, kind: str, count: int = 1) -> None:
        self.counts[kind].imported += count

    def skipped(self, kind: str, count: int = 1) -> None:
        self.counts[kind].skipped += count

    def failed(self, kind: str, model: str, reason: str, version: int | None = None, alias: str | None = None) -> None:
        self.counts[kind].failed += 1
        self.failures.append(_where(model, version, alias) | {"kind": kind, "reason": reason})

    def note(self, model: str, text: str, version: int | None = None, alias: str | None = None) -> None:
        self.notes.append(_where(model, version, alias) | {"note": text})

    @property
    def nothing_to_do(self) -> bool:
        """Everything that can be imported was imported before: nothing is imported now. What fails every time (a
        name modelreg refuses) is still listed in ``failures``."""
        return all(counts.imported == 0 for counts in self.counts.values())

    @property
    def ok(self) -> bool:
        return all(counts.failed == 0 for counts in self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "trackingUri": self.tracking_uri,
            "dryRun": self.dry_run,
            "nothingToDo": self.nothing_to_do,
            **{
                kind: {
                    ("wouldImport" if self.dry_run else "imported"): counts.imported,
                    "skipped": counts.skipped,
                    "failed": counts.failed,
                }
                for kind, counts in self.counts.items()
            },
            "failures": self.failures,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


def _where(model: str, version: int | None, alias: str | None) -> dict[str, Any]:
    where: dict[str, Any] = {"model": model}
    if version is not None:
        where["version"] = version
    if alias is not None:
        where["alias"] = alias
    return where
