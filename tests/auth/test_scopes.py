"""Roles within a namespace (issue 18): the Casbin model's truth table (in scope, out of scope, nested, global),
assignments from g2 rules and from tokens, owners, registry-wide permissions, messages, explanations, caching.
The role matrix itself (what each role may do) is tests/auth/test_policy.py's, and holds in every scope."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from app.auth.authorizer import ANYWHERE, OPEN_READS, REGISTRY_WIDE, CasbinAuthorizer, namespace_of, within
from app.config import Settings
from app.domain.errors import Forbidden
from app.domain.identity import Permission, Principal
from tests.auth.test_policy import MATRIX, ROLES

pytestmark = pytest.mark.backend_independent

P = Permission
GROUPS = (
    "g2, group:ml-fraud, data-scientist, fraud/",
    "g2, group:fraud-approvers, approver, fraud/",
    "g2, group:cards-platform, mlops, fraud/cards/",
    "g2, group:ml-churn, data-scientist, churn/",
    "g, group:fraud-everyone, group:ml-fraud",
    "g, group:internal-audit, auditor",
)


def policy_dir_with(tmp_path: Path, *lines: str) -> Path:
    source = Settings().policy_dir
    shutil.copy(source / "model.conf", tmp_path / "model.conf")
    text = (source / "policy.csv").read_text(encoding="utf-8")
    (tmp_path / "policy.csv").write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def authorizer(tmp_path_factory) -> CasbinAuthorizer:
    return CasbinAuthorizer(policy_dir_with(tmp_path_factory.mktemp("scoped"), *GROUPS))


def holding(*roles: str, sub: str = "someone", groups: list[str] | None = None) -> Principal:
    claims = {"groups": groups} if groups is not None else {}
    return Principal(subject=sub, roles=frozenset(roles), claims=claims)


# The truth table of the model: where a role is held x where the model acted on lives.

WHERE = {
    "in scope": "fraud/model",
    "nested": "fraud/cards/model",
    "deeper": "fraud/cards/eu/model",
    "the namespace itself": "fraud/",
    "sibling prefix": "fraudulent/model",  # "fraud/" is not a prefix of "fraudulent/"
    "other team": "churn/model",
    "root": "model",
}
IN_FRAUD = {"in scope", "nested", "deeper", "the namespace itself"}


@pytest.mark.parametrize("place", sorted(WHERE))
@pytest.mark.parametrize("scope", ["*", "fraud/", "fraud/cards/"])
@pytest.mark.parametrize("role", ROLES)
def test_truth_table(authorizer, role, scope, place):
    entry = role if scope == "*" else f"{role}@{scope}"
    where = WHERE[place]
    covered = scope == "*" or namespace_of(where).startswith(scope)
    if scope == "fraud/":
        assert covered is (place in IN_FRAUD)
    for permission in Permission:
        expected = permission in MATRIX[role] and (
            permission in OPEN_READS or (covered and (scope == "*" or permission not in REGISTRY_WIDE))
        )
        assert authorizer.allows(holding(entry), permission, where) is expected, (entry, where, permission)


@pytest.mark.parametrize("role", ROLES)
def test_global_roles_decide_as_before_wherever_asked(authorizer, role):
    """With global roles only nothing changes: any place, or none, answers as the role matrix."""
    for where in [None, ANYWHERE, *WHERE.values()]:
        assert {p for p in Permission if authorizer.allows(holding(role), p, where)} == MATRIX[role]


def test_without_a_place_only_global_roles_count_but_reads_are_open(authorizer):
    scoped = holding("mlops@fraud/")
    assert authorizer.allows(scoped, P.REGISTRY_READ) and authorizer.allows(scoped, P.ARTIFACT_READ)
    assert not authorizer.allows(scoped, P.MODEL_WRITE)
    assert not authorizer.allows(scoped, P.WEBHOOK_MANAGE)
    assert authorizer.allows(scoped, P.MODEL_WRITE, ANYWHERE)  # the check before the model is read


@pytest.mark.parametrize("permission", sorted(REGISTRY_WIDE, key=lambda p: p.value), ids=lambda p: p.value)
def test_registry_wide_permissions_need_a_global_role(authorizer, permission):
    role = "auditor" if permission is P.AUDIT_READ else "mlops"
    for where in [None, ANYWHERE, "fraud/", "fraud/model"]:
        assert not authorizer.allows(holding(f"{role}@fraud/"), permission, where)
        assert authorizer.allows(holding(role), permission, where)


def test_several_holdings_hold_the_union_each_in_its_place(authorizer):
    caller = holding("data-scientist@fraud/", "approver@churn/", "auditor")
    assert authorizer.allows(caller, P.MODEL_WRITE, "fraud/x")
    assert not authorizer.allows(caller, P.MODEL_WRITE, "churn/x")
    assert authorizer.allows(caller, P.TRANSITION_APPROVE, "churn/x")
    assert not authorizer.allows(caller, P.TRANSITION_APPROVE, "fraud/x")
    assert authorizer.allows(caller, P.AUDIT_READ)
    assert authorizer.permissions_of(caller) == MATRIX["data-scientist"] | MATRIX["approver"] | MATRIX["auditor"]


def test_within_is_the_domain_match():
    assert within("fraud/cards/", "fraud/") and within("fraud/", "fraud/") and within("", "*")
    assert within("anything/", "*") and within(ANYWHERE, "fraud/")
    assert not within("fraudulent/", "fraud/") and not within("", "fraud/") and not within("fraud/", "fraud/cards/")


def test_namespace_of():
    assert namespace_of("fraud/cards/x") == "fraud/cards/"
    assert namespace_of("x") == ""
    assert namespace_of("fraud/") == "fraud/"


# Assignments: g2 rules, nested groups, scoped role names in tokens.


def test_groups_give_roles_within_namespaces(authorizer):
    assert authorizer.roles_for(["group:ml-fraud"]) == {"data-scientist@fraud/"}
    assert authorizer.roles_for(["group:fraud-everyone"]) == {"data-scientist@fraud/"}  # g then g2
    assert authorizer.roles_for(["group:ml-fraud", "group:fraud-approvers", "group:internal-audit"]) == {
        "data-scientist@fraud/", "approver@fraud/", "auditor"}
    assert authorizer.roles_for(["group:cards-platform"]) == {"mlops@fraud/cards/"}
    assert authorizer.roles_for(["group:unknown"]) == frozenset()


def test_a_role_held_more_widely_absorbs_the_narrower_one(authorizer):
    assert authorizer.roles_for(["mlops", "group:cards-platform"]) == {"mlops"}
    assert authorizer.roles_for(["mlops@fraud/", "mlops@fraud/cards/"]) == {"mlops@fraud/"}
    assert authorizer.roles_for(["data-scientist@fraud/", "mlops@fraud/cards/"]) == {
        "data-scientist@fraud/", "mlops@fraud/cards/"}


def test_scoped_role_names_in_a_token(authorizer):
    """An identity provider may carry the scoped role itself (a Keycloak realm role `data-scientist@fraud/`)."""
    assert authorizer.roles_for(["data-scientist@fraud/", "approver@fraud/cards/"]) == {
        "data-scientist@fraud/", "approver@fraud/cards/"}
    for bad in ["data-scientist@fraud", "data-scientist@/", "data-scientist@../", "data-scientist@a//b/",
                "nobody@fraud/", "data-scientist@fraud/@x/", "@fraud/", "data-scientist@"]:
        assert authorizer.roles_for([bad]) == frozenset(), bad


def test_shipped_policy_has_no_scoped_assignment():
    lines = (Settings().policy_dir / "policy.csv").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.strip().startswith("g2")] == []


@pytest.mark.parametrize("rule", ["g2, group:x, nobody, fraud/", "g2, group:x, mlops, fraud", "g2, group:x, mlops, *",
                                  "g2, group:x, mlops, ../"])
def test_a_g2_rule_needs_a_role_and_a_namespace(tmp_path, rule):
    with pytest.raises(ValueError, match="g2"):
        CasbinAuthorizer(policy_dir_with(tmp_path, rule))


# Owners: a model's owner holds, on that model, what they hold somewhere.


def test_the_owner_holds_on_the_model_what_they_hold_elsewhere(authorizer):
    churn_ds = holding("data-scientist@churn/", sub="ana")
    assert not authorizer.allows(churn_ds, P.MODEL_WRITE, "fraud/x")
    assert authorizer.allows(churn_ds, P.MODEL_WRITE, "fraud/x", owner="ana")
    assert authorizer.allows(churn_ds, P.ALIAS_WRITE, "fraud/x", owner="ana")
    assert not authorizer.allows(churn_ds, P.MODEL_WRITE, "fraud/x", owner="bob")
    assert not authorizer.allows(churn_ds, P.MODEL_DELETE, "fraud/x", owner="ana")  # not a permission ana holds
    assert not authorizer.allows(holding("auditor", sub="ana"), P.MODEL_WRITE, "fraud/x", owner="ana")
    assert not authorizer.allows(holding(sub="ana"), P.MODEL_WRITE, "x", owner="ana")  # no role at all


def test_a_group_owner(authorizer):
    member = holding("data-scientist@churn/", sub="ana", groups=["risk-models", "staff"])
    assert authorizer.allows(member, P.MODEL_WRITE, "fraud/x", owner="group:risk-models")
    assert not authorizer.allows(member, P.MODEL_WRITE, "fraud/x", owner="group:other")
    assert not authorizer.allows(member, P.MODEL_WRITE, "fraud/x", owner="risk-models")  # a subject, not a group
    spaced = Principal("ana", roles=frozenset({"data-scientist@churn/"}), claims={"groups": "a risk-models"})
    assert authorizer.allows(spaced, P.MODEL_WRITE, "fraud/x", owner="group:risk-models")


# Messages and explanations.


def test_a_scoped_callers_refusal_names_the_namespace(authorizer):
    with pytest.raises(Forbidden) as caught:
        authorizer.require(holding("data-scientist@fraud/"), P.MODEL_WRITE, "churn/x")
    assert caught.value.message == (
        "missing permission model:write in 'churn/' (caller has data-scientist@fraud/)")
    with pytest.raises(Forbidden, match="in 'the root namespace'"):
        authorizer.require(holding("data-scientist@fraud/"), P.MODEL_WRITE, "x")
    with pytest.raises(Forbidden) as caught:  # global roles: the message of before
        authorizer.require(holding("auditor"), P.MODEL_WRITE, "churn/x")
    assert caught.value.message == "missing permission model:write (caller has auditor)"


def test_explain_names_the_rules(authorizer):
    allowed = authorizer.explain(["group:fraud-everyone"], P.MODEL_WRITE, "fraud/cards/x")
    assert allowed.allowed and allowed.namespace == "fraud/cards/"
    assert allowed.assignments == ("g, group:fraud-everyone, group:ml-fraud",
                                   "g2, group:ml-fraud, data-scientist, fraud/")
    assert allowed.granted_by == ("data-scientist@fraud/", "fraud/", "p, data-scientist, model, write")
    refused = authorizer.explain(["group:ml-fraud", "auditor"], P.MODEL_WRITE, "churn/x")
    assert not refused.allowed and refused.granted_by is None
    assert refused.ignored == ("data-scientist@fraud/",)
    assert refused.holdings == ("auditor", "data-scientist@fraud/")


# Caching: decisions are cached per (roles, namespace, permission), bounded.


def test_decisions_are_cached_and_cheap(authorizer):
    caller = holding("data-scientist@fraud/", "approver@churn/", "auditor")
    names = [f"fraud/team{i % 20}/m{i}" for i in range(2000)]
    started = time.perf_counter()
    for name in names:
        authorizer.allows(caller, P.MODEL_WRITE, name)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for name in names:
        authorizer.allows(caller, P.MODEL_WRITE, name)
    again = time.perf_counter() - started
    assert again / len(names) < 50e-6, f"{again / len(names) * 1e6:.1f} us per cached decision"
    assert first < 5, first
    assert authorizer._decide.cache_info().maxsize == 8192
