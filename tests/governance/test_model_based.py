"""The model-based test of issue 14: a Hypothesis state machine drives random sequences of governance and serving
mutations through the in-process API and checks the registry's invariants after every step.

Rules: register a version (with a model card), request STAGING / PRODUCTION / ARCHIVED, approve (as one of two
approvers, or as the requester, which separation of duties refuses), reject, cancel, rollbackProduction (fromVersion:
the version in PRODUCTION), set an alias, deploy / startCanary / setCanaryTraffic / promoteCanary / abortCanary /
rollbackDeployment / undeploy in the `production` and `staging` environments, delete a version, delete a model. Each
accepts only OK and the refusals its rules allow (never INTERNAL). After every step:

- at most one PRODUCTION version per model; every alias on an existing version;
- every deployment with entries gives 100 percent of the live traffic (PRIMARY + CANARY), names each version once,
  and serves only existing READY versions;
- rule 2 of docs/deployments.md ("Stages and serving"): in a production environment no version gains live traffic,
  or a place as a shadow, unless it is in PRODUCTION;
- rule 3: after an accepted rollbackProduction the archived version has no live traffic in any production
  environment;
- the audit chain verifies (incrementally, as in the race suite).

Sizes: MAX_EXAMPLES = 6 sequences of up to STEPS = 60 steps each, derandomized and with no example database, so CI
runs the same sequences every time: about 20 s on SQLite and 26 s on PostgreSQL on the 2-core machine (measured
2026-12-06). The test also checks that the run reached approvals, rollbackProduction and deploy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from app.config import Settings
from app.services.audit_log import verify_chain
from tests.governance.conftest import call
from tests.governance.test_transitions import APPROVE, ATTACH_CARD, CANCEL, REGISTER, REJECT, REQUEST
from tests.governance.test_write_races import DELETE_MODEL, DELETE_VERSION, SET_ALIAS, Chain
from tests.support.client import Api
from tests.support.databases import wipe

MAX_EXAMPLES = 6
STEPS = 60

MODELS = ("alpha", "beta")
ENVIRONMENTS = ("production", "staging")

ROLLBACK_FROM = """
mutation($name: String!, $from: Int) {
  rollbackProduction(input: {name: $name, reason: "error rate doubled", fromVersion: $from}) {
    restored { version stage } archived { version stage }
  }
}
"""
DEPLOY = """
mutation($name: String!, $environment: String!, $version: Int!) {
  deploy(input: {name: $name, environment: $environment, version: $version}) { deployment { revision } }
}
"""
START_CANARY = """
mutation($name: String!, $environment: String!, $version: Int!, $percent: Int!) {
  startCanary(input: {name: $name, environment: $environment, version: $version, percent: $percent}) {
    deployment { revision }
  }
}
"""
SET_CANARY_TRAFFIC = """
mutation($name: String!, $environment: String!, $percent: Int!) {
  setCanaryTraffic(input: {name: $name, environment: $environment, percent: $percent}) { deployment { revision } }
}
"""
PROMOTE_CANARY = """
mutation($name: String!, $environment: String!) {
  promoteCanary(input: {name: $name, environment: $environment}) { deployment { revision } }
}
"""
ABORT_CANARY = """
mutation($name: String!, $environment: String!) {
  abortCanary(input: {name: $name, environment: $environment}) { deployment { revision } }
}
"""
ROLLBACK_DEPLOYMENT = """
mutation($name: String!, $environment: String!) {
  rollbackDeployment(input: {name: $name, environment: $environment}) { deployment { revision } }
}
"""
UNDEPLOY = """
mutation($name: String!, $environment: String!) {
  undeploy(input: {name: $name, environment: $environment}) { deployment { revision } }
}
"""
# The name and environment argument of every mutation on one deployment that takes no version.
DEPLOYMENT_CHANGES = {
    "promoteCanary": PROMOTE_CANARY,
    "abortCanary": ABORT_CANARY,
    "rollbackDeployment": ROLLBACK_DEPLOYMENT,
    "undeploy": UNDEPLOY,
}
REGISTRY = """
query {
  registeredModels(first: 100) {
    pageInfo { hasNextPage }
    nodes { name aliases { alias version } versions(first: 100) { nodes { version stage status } } }
  }
  deployments(first: 100) {
    pageInfo { hasNextPage }
    nodes { name environment entries { version role trafficPercent modelVersion { status } } }
  }
}
"""
REFUSALS = {"NOT_FOUND", "CONFLICT", "FAILED_PRECONDITION"}
LIVE = ("PRIMARY", "CANARY")
# (root field, environment or None, answer code) -> how often, over the whole run
OUTCOMES: Counter[tuple[str, str | None, str]] = Counter()


def root_field(document: str) -> str:
    return document.split("{", 1)[1].split("(", 1)[0].strip()


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK"


class Registry(RuleBasedStateMachine):
    """One registry driven through the API; a fresh (wiped) database per sequence."""

    # Set by the test before the machine runs: the API, its event loop and the database behind it.
    api: Api
    loop: asyncio.AbstractEventLoop
    app: Any
    database_url: str
    production_environments: frozenset[str]

    versions = Bundle("versions")
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        wipe(self.database_url)
        self.chain = Chain(self.app)
        # (model, production environment) -> {version: live percent}, and the shadows there, as of the last step
        self.live: dict[tuple[str, str], dict[int, int]] = {}
        self.shadows: dict[tuple[str, str], set[int]] = {}

    # Calling the API on the test's event loop (the app's connections belong to it).

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def send(self, document: str, variables: dict[str, Any], role: str, sub: str,
             allowed: set[str] | frozenset[str] = frozenset(REFUSALS)) -> dict[str, Any]:
        body = self.run(call(self.api, document, variables, role, sub))
        code = code_of(body)
        OUTCOMES[(root_field(document), variables.get("environment"), code)] += 1
        assert code == "OK" or code in allowed, (document.split("(")[0].split()[-1], variables, body["errors"])
        return body

    def registry(self) -> dict[str, Any]:
        body = self.send(REGISTRY, {}, "auditor", "reader", frozenset())
        data = body["data"]
        assert not data["registeredModels"]["pageInfo"]["hasNextPage"]
        assert not data["deployments"]["pageInfo"]["hasNextPage"]
        return data

    def stages(self, data: dict[str, Any]) -> dict[str, dict[int, str]]:
        return {model["name"]: {node["version"]: node["stage"] for node in model["versions"]["nodes"]}
                for model in data["registeredModels"]["nodes"]}

    # Governance.

    def new_version(self, name: str) -> tuple[str, int]:
        body = self.send(REGISTER, {"name": name}, "data-scientist", "dana", frozenset())
        number = body["data"]["createModelVersion"]["modelVersion"]["version"]
        self.send(ATTACH_CARD, {"name": name, "version": number}, "data-scientist", "dana", frozenset())
        return name, number

    def new_request(self, name: str, number: int, to: str) -> Any:
        body = self.send(REQUEST, {"name": name, "version": number, "to": to}, "data-scientist", "dana")
        if body.get("errors"):
            return multiple()
        return body["data"]["requestStageTransition"]["transitionRequest"]["id"]

    @initialize(target=versions)
    def first_versions(self) -> Any:
        return multiple(*(self.new_version(name) for name in MODELS))

    @rule(target=versions, name=st.sampled_from(MODELS))
    def register(self, name: str) -> tuple[str, int]:
        return self.new_version(name)

    @rule(target=requests, version=versions, to=st.sampled_from(("STAGING", "PRODUCTION", "ARCHIVED")))
    def request(self, version: tuple[str, int], to: str) -> Any:
        return self.new_request(*version, to)

    @rule(target=requests, version=versions)
    def request_production(self, version: tuple[str, int]) -> Any:
        """STAGING (applied at once by the default policy) and then PRODUCTION, which needs an approval."""
        self.new_request(*version, "STAGING")
        return self.new_request(*version, "PRODUCTION")

    @rule(target=versions, name=st.sampled_from(MODELS), approver=st.sampled_from(("alice", "bob")))
    def to_production(self, name: str, approver: str) -> tuple[str, int]:
        """A new version the whole way to PRODUCTION in one step (archiving the one there): random sequences of
        single requests seldom get two versions there, which rollbackProduction needs."""
        version = self.new_version(name)
        request = self.request_production(version)
        if isinstance(request, str):
            self.approve(request, approver)
        return version

    @rule(request=requests, approver=st.sampled_from(("alice", "bob")))
    def approve(self, request: str, approver: str) -> None:
        self.send(APPROVE, {"id": request}, "approver", approver)

    @rule(request=requests)
    def approve_own(self, request: str) -> None:
        """dana requested every transition and registered every version: separation of duties refuses her."""
        self.send(APPROVE, {"id": request}, "approver", "dana", REFUSALS | {"FORBIDDEN"})

    @rule(request=requests)
    def reject(self, request: str) -> None:
        self.send(REJECT, {"id": request, "comment": "not yet"}, "approver", "bob")

    @rule(request=requests)
    def cancel(self, request: str) -> None:
        self.send(CANCEL, {"id": request}, "data-scientist", "dana")

    def in_production(self, name: str) -> int | None:
        current = [number for number, stage in self.stages(self.registry()).get(name, {}).items()
                   if stage == "PRODUCTION"]
        return current[0] if current else None

    @rule(name=st.sampled_from(MODELS))
    def rollback_production(self, name: str) -> None:
        current = self.in_production(name)
        body = self.send(ROLLBACK_FROM, {"name": name, "from": current}, "mlops", "oncall",
                         REFUSALS | {"BAD_USER_INPUT"})
        if body.get("errors"):
            return
        archived = body["data"]["rollbackProduction"]["archived"]["version"]
        # Rule 3: the traffic went with the rollback.
        for deployment in self.registry()["deployments"]["nodes"]:
            if deployment["name"] == name and deployment["environment"] in self.production_environments:
                serving = [entry for entry in deployment["entries"]
                           if entry["version"] == archived and entry["role"] in LIVE]
                assert not serving, (name, archived, deployment)

    @rule(version=versions, alias=st.sampled_from(("challenger", "last-good")))
    def set_alias(self, version: tuple[str, int], alias: str) -> None:
        name, number = version
        self.send(SET_ALIAS, {"name": name, "alias": alias, "version": number}, "mlops", "ops")

    @rule(version=versions, now=st.sampled_from((False, True)))
    def delete_version(self, version: tuple[str, int], now: bool) -> None:
        """Half of the draws, like delete_model below: deletions undo what the other rules build."""
        if now:
            name, number = version
            self.send(DELETE_VERSION, {"name": name, "version": number}, "mlops", "ops")

    @rule(name=st.sampled_from(MODELS), now=st.sampled_from((False, False, False, True)))
    def delete_model(self, name: str, now: bool) -> None:
        """Rarer than the other rules (a quarter of the draws), so sequences build something before it goes."""
        if now:
            self.send(DELETE_MODEL, {"name": name}, "mlops", "ops")

    # Serving.

    @rule(version=versions, environment=st.sampled_from(ENVIRONMENTS))
    def deploy(self, version: tuple[str, int], environment: str) -> None:
        name, number = version
        self.send(DEPLOY, {"name": name, "environment": environment, "version": number}, "mlops", "ops")

    @rule(version=versions, environment=st.sampled_from(ENVIRONMENTS), percent=st.integers(1, 99))
    def start_canary(self, version: tuple[str, int], environment: str, percent: int) -> None:
        name, number = version
        self.send(START_CANARY, {"name": name, "environment": environment, "version": number, "percent": percent},
                  "mlops", "ops")

    @rule(name=st.sampled_from(MODELS), environment=st.sampled_from(ENVIRONMENTS),
          percent=st.sampled_from((None, 10, 50)))
    def roll_out(self, name: str, environment: str, percent: int | None) -> None:
        """The version in PRODUCTION deployed (percent None) or started as a canary: what random versions seldom
        are, so production environments get traffic to move."""
        current = self.in_production(name)
        if current is None:
            return
        if percent is None:
            self.send(DEPLOY, {"name": name, "environment": environment, "version": current}, "mlops", "ops")
        else:
            self.send(START_CANARY, {"name": name, "environment": environment, "version": current,
                                     "percent": percent}, "mlops", "ops")

    @rule(name=st.sampled_from(MODELS), environment=st.sampled_from(ENVIRONMENTS), percent=st.integers(1, 99))
    def set_canary_traffic(self, name: str, environment: str, percent: int) -> None:
        self.send(SET_CANARY_TRAFFIC, {"name": name, "environment": environment, "percent": percent}, "mlops", "ops")

    @rule(name=st.sampled_from(MODELS), environment=st.sampled_from(ENVIRONMENTS),
          change=st.sampled_from(sorted(DEPLOYMENT_CHANGES)))
    def change_deployment(self, name: str, environment: str, change: str) -> None:
        self.send(DEPLOYMENT_CHANGES[change], {"name": name, "environment": environment}, "mlops", "ops")

    # After every step.

    @invariant()
    def registry_is_consistent(self) -> None:
        data = self.registry()
        stages = self.stages(data)
        for model in data["registeredModels"]["nodes"]:
            versions = stages[model["name"]]
            assert list(versions.values()).count("PRODUCTION") <= 1, (model["name"], versions)
            for alias in model["aliases"]:
                assert alias["version"] in versions, (model["name"], alias)
        live: dict[tuple[str, str], dict[int, int]] = {}
        shadows: dict[tuple[str, str], set[int]] = {}
        for deployment in data["deployments"]["nodes"]:
            name, environment, entries = deployment["name"], deployment["environment"], deployment["entries"]
            numbers = [entry["version"] for entry in entries]
            assert len(numbers) == len(set(numbers)), deployment
            for entry in entries:
                assert entry["modelVersion"] is not None and entry["modelVersion"]["status"] == "READY", deployment
                assert entry["version"] in stages.get(name, {}), deployment
            if entries:
                assert sum(entry["trafficPercent"] for entry in entries if entry["role"] in LIVE) == 100, deployment
            if environment not in self.production_environments:
                continue
            key = (name, environment)
            live[key] = {entry["version"]: entry["trafficPercent"] for entry in entries if entry["role"] in LIVE}
            shadows[key] = {entry["version"] for entry in entries if entry["role"] == "SHADOW"}
            # Rule 2: traffic moves only towards the version in PRODUCTION.
            before, shadows_before = self.live.get(key, {}), self.shadows.get(key, set())
            for number, percent in live[key].items():
                if percent > before.get(number, 0):
                    assert stages[name][number] == "PRODUCTION", (key, number, before, live[key], stages[name])
            for number in shadows[key] - shadows_before:
                assert stages[name][number] == "PRODUCTION", (key, number, stages[name])
        self.live, self.shadows = live, shadows
        self.run(self.chain.verify())


async def test_governance_and_serving_rules_hold_after_every_step(api: Api, app: Any, database_url: str,
                                                                  settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    OUTCOMES.clear()
    machine = type("RegistryUnderTest", (Registry,), {
        "api": api, "loop": loop, "app": app, "database_url": database_url,
        "production_environments": frozenset(
            name.strip() for name in settings.production_environments.split(",") if name.strip()),
    })
    assert {"production", "staging"} <= {name.strip() for name in settings.environments.split(",")}
    assert "production" in machine.production_environments and "staging" not in machine.production_environments
    sizes = settings_for_ci()
    # The machine is synchronous: it runs in a worker thread and sends each call to this test's event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        await loop.run_in_executor(pool, lambda: run_state_machine_as_test(machine, settings=sizes))
    assert (await verify_chain(app.state.uow)).ok
    # The sequences reached what the invariants are about (a change of Hypothesis's generation could lose it).
    reached = {field for field, _, code in OUTCOMES if code == "OK"}
    assert {"approveTransitionRequest", "rollbackProduction", "deploy"} <= reached, sorted(OUTCOMES.items())


def settings_for_ci() -> hypothesis_settings:
    return hypothesis_settings(max_examples=MAX_EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                    print_blob=False)
