"""The promotion policy: approvals and gates per target stage, per-model overrides, protected aliases.

The policy is data (policies/promotion.yaml); ``parse_policy`` turns the loaded mapping into these objects and
says precisely what is wrong with it, and ``evaluate`` checks a version against a stage's gates.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from .entities import Metric, ModelVersion, Stage, VersionStatus
from .governance import DocumentKind, GateResult
from .rules import ALIAS_PATTERN

TARGET_STAGES = (Stage.STAGING, Stage.PRODUCTION, Stage.ARCHIVED)
_OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
_METRIC_GATE = re.compile(
    r"\s*(?P<name>[A-Za-z0-9_.\-/:]+)(?:\[(?P<dataset>[^\]]+)\])?"
    r"\s*(?:(?P<op>>=|<=|==|>|<)\s*(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))?\s*"
)


class PolicyError(ValueError):
    """The policy file is invalid; the message names the entry at fault."""


@dataclass(frozen=True)
class MetricGate:
    """``accuracy >= 0.9``: some recorded value of the metric (on the dataset, if named) satisfies the bound;
    a bare name only requires the metric to be recorded."""

    name: str
    dataset: str | None = None
    op: str | None = None
    threshold: float | None = None

    def __str__(self) -> str:
        where = f"[{self.dataset}]" if self.dataset else ""
        return f"{self.name}{where}" + (f" {self.op} {self.threshold:g}" if self.op else "")

    def check(self, metrics: Iterable[Metric]) -> GateResult:
        values = [
            m.value for m in metrics if m.name == self.name and (self.dataset is None or m.dataset == self.dataset)
        ]
        label = f"metric {self}"
        if not values:
            where = f" on dataset {self.dataset!r}" if self.dataset else ""
            return GateResult(label, False, f"the version has no {self.name!r} metric{where}")
        if self.op is None:
            return GateResult(label, True, "recorded")
        assert self.threshold is not None, "a gate with an operator has a threshold"
        best = [v for v in values if _OPERATORS[self.op](v, self.threshold)]
        if best:
            return GateResult(label, True, f"{best[0]:g} {self.op} {self.threshold:g}")
        shown = ", ".join(f"{v:g}" for v in values[:5])
        return GateResult(label, False, f"recorded {shown}; none is {self.op} {self.threshold:g}")


@dataclass(frozen=True)
class StageRule:
    """What moving a version into one stage takes: approvals and gates."""

    required_approvals: int = 0
    version_ready: bool = False
    metrics: tuple[MetricGate, ...] = ()
    documents: tuple[DocumentKind, ...] = ()
    # Approvals from members of named groups (the approver's token ``groups`` claim): ((group, count), ...), in
    # policy order. They are among ``required_approvals``: one approval counts for the total and for each of the
    # approver's groups named here.
    approver_groups: tuple[tuple[str, int], ...] = ()


DEFAULT_RULES = {
    Stage.STAGING: StageRule(required_approvals=0, version_ready=True),
    Stage.PRODUCTION: StageRule(required_approvals=1, version_ready=True, documents=(DocumentKind.MODEL_CARD,)),
    Stage.ARCHIVED: StageRule(required_approvals=0),
}


@dataclass(frozen=True)
class Override:
    pattern: str
    rules: dict[Stage, StageRule]


@dataclass(frozen=True)
class PromotionPolicy:
    rules: dict[Stage, StageRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    overrides: tuple[Override, ...] = ()
    protected_aliases: frozenset[str] = frozenset({"champion"})
    version: int = 1

    def rule_for(self, model_name: str, stage: Stage) -> StageRule:
        """The first override whose pattern matches the model name wins; otherwise the defaults."""
        for override in self.overrides:
            if fnmatchcase(model_name, override.pattern):
                return override.rules.get(stage, self.rules[stage])
        return self.rules[stage]

    def alias_rule(self, model_name: str) -> StageRule:
        """Moving a protected alias takes what a move to PRODUCTION takes."""
        return self.rule_for(model_name, Stage.PRODUCTION)

    def is_protected(self, alias: str) -> bool:
        return alias in self.protected_aliases


def evaluate(
    rule: StageRule, version: ModelVersion, metrics: list[Metric], document_kinds: set[DocumentKind]
) -> list[GateResult]:
    """Every gate of ``rule`` checked against the version, passed or not, in policy order."""
    results = []
    if rule.version_ready:
        ready = version.status is VersionStatus.READY
        results.append(GateResult("version READY", ready, "READY" if ready else f"status is {version.status.value}"))
    results += [gate.check(metrics) for gate in rule.metrics]
    for kind in rule.documents:
        present = kind in document_kinds
        results.append(
            GateResult(
                f"document {kind.value}", present, "attached" if present else f"no {kind.value} document is attached"
            )
        )
    return results


# Parsing.

_RULE_KEYS = {"required_approvals", "approver_groups", "gates"}
GROUP_NAME_MAX = 256
_GATE_KEYS = {"version_ready", "metrics", "documents"}


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise PolicyError(f"{where} must be a mapping")
    return value


def _metric_gate(text: Any, where: str) -> MetricGate:
    match = _METRIC_GATE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise PolicyError(
            f"{where}: {text!r} is not a metric gate such as 'accuracy >= 0.9', 'auc[holdout] > 0.8' or 'latency_ms'"
        )
    threshold = float(match["number"]) if match["number"] else None
    if threshold is not None and not math.isfinite(threshold):
        raise PolicyError(f"{where}: {text!r} needs a finite threshold")
    return MetricGate(match["name"], match["dataset"], match["op"], threshold)


def _rule(data: Any, where: str, base: StageRule) -> StageRule:
    data = _mapping(data, where)
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}")
    rule = base
    if "required_approvals" in data:
        count = data["required_approvals"]
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 20:
            raise PolicyError(f"{where}.required_approvals must be a whole number 0-20, got {count!r}")
        rule = replace(rule, required_approvals=count)
    if "approver_groups" in data:
        rule = replace(rule, approver_groups=_approver_groups(data["approver_groups"], f"{where}.approver_groups"))
    largest = max((count for _, count in rule.approver_groups), default=0)
    if rule.required_approvals < largest:
        raise PolicyError(
            f"{where}.required_approvals ({rule.required_approvals}) counts every approval, those from "
            f"approver_groups included: make it at least {largest}"
        )
    gates = _mapping(data.get("gates") or {}, f"{where}.gates")
    unknown = set(gates) - _GATE_KEYS
    if unknown:
        raise PolicyError(f"{where}.gates: unknown key(s) {sorted(unknown)}; allowed: {sorted(_GATE_KEYS)}")
    if "version_ready" in gates:
        if not isinstance(gates["version_ready"], bool):
            raise PolicyError(f"{where}.gates.version_ready must be true or false")
        rule = replace(rule, version_ready=gates["version_ready"])
    if "metrics" in gates:
        items = gates["metrics"] or []
        if not isinstance(items, list):
            raise PolicyError(f"{where}.gates.metrics must be a list such as ['accuracy >= 0.9']")
        rule = replace(
            rule, metrics=tuple(_metric_gate(item, f"{where}.gates.metrics[{i}]") for i, item in enumerate(items))
        )
    if "documents" in gates:
        items = gates["documents"] or []
        kinds = ", ".join(kind.value for kind in DocumentKind)
        if not isinstance(items, list) or not all(isinstance(i, str) and i in DocumentKind.__members__ for i in items):
            raise PolicyError(f"{where}.gates.documents must be a list of document kinds ({kinds})")
        rule = replace(rule, documents=tuple(DocumentKind(item) for item in items))
    return rule


def _approver_groups(data: Any, where: str) -> tuple[tuple[str, int], ...]:
    """``{risk-office: 1}``: how many approvals each named group must give (an empty mapping: none)."""
    data = _mapping(data if data is not None else {}, where)
    found = []
    for group, count in data.items():
        if not isinstance(group, str) or not group.strip() or group != group.strip() or len(group) > GROUP_NAME_MAX:
            raise PolicyError(f"{where}: {group!r} is not a group name (as the token's groups claim carries it)")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 20:
            raise PolicyError(f"{where}.{group} must be a whole number of approvals 1-20, got {count!r}")
        found.append((group, count))
    return tuple(found)


def _stages(data: Any, where: str, base: dict[Stage, StageRule]) -> dict[Stage, StageRule]:
    data = _mapping(data, where)
    names = ", ".join(stage.value for stage in TARGET_STAGES)
    rules = {}
    for name, rule in data.items():
        if name not in {stage.value for stage in TARGET_STAGES}:
            raise PolicyError(f"{where}: {name!r} is not a target stage ({names})")
        rules[Stage(name)] = _rule(rule, f"{where}.{name}", base[Stage(name)])
    return rules


def parse_policy(data: Any) -> PromotionPolicy:
    """The policy in a loaded YAML document; PolicyError names the first problem."""
    data = _mapping(data if data is not None else {}, "the policy")
    unknown = set(data) - {"version", "protected_aliases", "stages", "overrides"}
    if unknown:
        raise PolicyError(f"unknown key(s) {sorted(unknown)}; allowed: overrides, protected_aliases, stages, version")
    if data.get("version", 1) != 1:
        raise PolicyError(f"version must be 1, got {data.get('version')!r}")
    aliases = data.get("protected_aliases", ["champion"]) or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and ALIAS_PATTERN.fullmatch(a) for a in aliases):
        raise PolicyError("protected_aliases must be a list of alias names such as [champion]")
    rules = {**DEFAULT_RULES, **_stages(data.get("stages") or {}, "stages", DEFAULT_RULES)}
    overrides = []
    items = data.get("overrides") or []
    if not isinstance(items, list):
        raise PolicyError("overrides must be a list of {models: PATTERN, stages: {...}}")
    for index, item in enumerate(items):
        where = f"overrides[{index}]"
        item = _mapping(item, where)
        if set(item) - {"models", "stages"} or not isinstance(item.get("models"), str) or not item["models"]:
            raise PolicyError(f"{where} must have a 'models' glob pattern (such as 'fraud/*') and 'stages'")
        overrides.append(Override(item["models"], _stages(item.get("stages") or {}, f"{where}.stages", rules)))
    return PromotionPolicy(rules=rules, overrides=tuple(overrides), protected_aliases=frozenset(aliases))
