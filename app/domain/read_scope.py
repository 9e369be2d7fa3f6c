"""What a caller may read: the whole registry, or the models in some namespaces (scoped reads, issue 18).

The authorizer derives one ``ReadScope`` per caller from their roles (``Authorizer.read_scope``); the read use
cases pass it to the repositories, which turn it into a SQL predicate on the model name (a range per namespace:
``fraud/ <= name < fraud0``), so pages have no holes and counts are the caller's own. docs/authorization.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# The character right after "/": every name starting with "fraud/" sorts in ["fraud/", "fraud0").
_AFTER_SLASH = chr(ord("/") + 1)


@dataclass(frozen=True)
class ReadScope:
    """``namespaces`` None: everything (a global role, or the ``global`` reads mode). Otherwise the namespaces
    (each ending in ``/``, none inside another) whose models the caller reads; the root namespace (names without
    ``/``) takes a global role. Objects that belong to no model (datasets, runs, commits) stay readable."""

    namespaces: tuple[str, ...] | None = None

    @property
    def everything(self) -> bool:
        return self.namespaces is None

    def covers(self, name: str | None) -> bool:
        """Whether the model named ``name`` is readable (None, an object of no model: only with everything)."""
        if self.namespaces is None:
            return True
        return name is not None and any(name.startswith(ns) for ns in self.namespaces)

    def ranges(self) -> list[tuple[str, str]]:
        """One ``[low, high)`` name range per namespace, for an index range scan."""
        return [(ns, ns[:-1] + _AFTER_SLASH) for ns in self.namespaces or ()]

    @staticmethod
    def of(namespaces: set[str] | frozenset[str]) -> ReadScope:
        """The scope of these namespaces, without those inside another (``fraud/cards/`` inside ``fraud/``)."""
        kept = sorted(ns for ns in namespaces if not any(o != ns and ns.startswith(o) for o in namespaces))
        return ReadScope(tuple(kept))


EVERYTHING = ReadScope()

# Audit events about one model: their target name starts with the model's name (``fraud/a``, ``fraud/a@champion``,
# ``fraud/a@production``). An auditor within a namespace reads these, for the namespace's models, and no others.
MODEL_AUDIT_TARGETS = ("RegisteredModel", "ModelVersion", "TransitionRequest", "ModelAlias", "Deployment")


def covers_audit_target(scope: ReadScope, target_type: str, target_name: str | None) -> bool:
    return scope.everything or (target_type in MODEL_AUDIT_TARGETS and scope.covers(target_name))
