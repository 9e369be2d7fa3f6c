"""Lineage graph benchmark: seed a synthetic graph of 100,000 nodes and about 300,000 edges, then time the
``lineage`` walk at depth 3, 10 and 25 and ``impactedModelVersions``, in process, with SQL statement counts.

Run from the project root::

    .venv/bin/python benchmarks/lineage_bench.py                          # SQLite, fresh temporary file
    .venv/bin/python benchmarks/lineage_bench.py --database postgresql    # throw-away database on 127.0.0.1:5432
    .venv/bin/python benchmarks/lineage_bench.py --quick                  # 10x smaller graph, under a minute
    .venv/bin/python benchmarks/lineage_bench.py --database postgresql \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres --repeat 5 --explain

The graph (``--quick`` divides every count by 10, except the 96 versions per model, so chains keep their
length): 20,000 datasets, 30,000 runs, 2,000 code commits and 500 registered models x 96 versions (48,000
real ``model_versions`` rows, READY, stage NONE except the newest of each model, which is PRODUCTION; each
with its MODEL_VERSION lineage node). Edges point upstream -> downstream: each run TRAINED_ON 3 random
datasets, every second run VALIDATED_ON 1, each run BUILT_FROM 1 commit, each version PRODUCED by 1 random
run, TRAINED_ON 1 dataset, every second version EVALUATED_ON 1, and within each model version n DERIVED_FROM
version n-1: 302,500 edges. Rows are written with bulk INSERTs (explicit ids, sequences moved past them on
PostgreSQL), then ``VACUUM ANALYZE`` on PostgreSQL and ``ANALYZE`` on SQLite (``--no-analyze`` skips it
on SQLite, as a server that never runs ANALYZE would see the database).

Measurement is in process, the way the server answers: ``create_app(Settings)`` with its lifespan running,
GraphQL documents POSTed to ``/graphql`` through ``httpx.ASGITransport`` with an ``auditor`` token from the
development issuer. For each scenario, ``--roots`` different roots (default 20) are asked ``--repeat`` times
(default 3) after one unrecorded warm-up request. "Server time" is the wall time of the POST (no network).
Separately, the traversal alone is timed through the unit of work (``uow.walks.walk`` or
``uow.walks.downstream_versions``, after the root lookup that the service makes first), and the SQL time of
each statement is taken from ``before/after_cursor_execute`` events on the engines behind
``app.state.database``.

Prints JSON lines on stdout: one for the seed (counts and seconds), then one per scenario with p50, p95 and
max ms of the request, mean node and edge counts, SQL statements per request (all, and the recursive
traversal statements among them), SQL ms per request, and the traversal p50/p95 through the unit of work.
Progress goes to stderr. Exits 1 if any answer had an error or did not hold what it should.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
from sqlalchemy import create_engine, event, func, select, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth.dev_issuer import mint_token  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db.engine import driver_urls, is_sqlite  # noqa: E402
from app.db.lineage_tables import (  # noqa: E402
    CodeCommitRow,
    DatasetRow,
    LineageEdgeRow,
    LineageNodeRow,
    RunRow,
)
from app.db.repositories.lineage_walks import _walk_sql  # noqa: E402
from app.db.tables import ModelRow, VersionRow  # noqa: E402
from benchmarks.stats import ms, percentile  # noqa: E402
from app.db.uow import SqlUnitOfWorkFactory  # noqa: E402
from app.domain.entities import Stage  # noqa: E402
from app.domain.lineage import EdgeKind, NodeKind, NodeRef, WalkDirection  # noqa: E402
from app.domain.queries import PageRequest  # noqa: E402
from app.graphql.relay import to_global_id  # noqa: E402
from app.main import create_app  # noqa: E402
from benchmarks.seed import FAMILIES, model_name  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 5_000
ACTOR = "lineage-bench"
MAX_NODES = 2000

# Full size; --quick divides the counts by 10 (but keeps 96 versions per model).
DATASETS = 20_000
RUNS = 30_000
COMMITS = 2_000
MODELS = 500
VERSIONS_PER_MODEL = 96

FORMATS = ["parquet", "csv", "delta", "tfrecord", "jsonl"]
SOURCE_SYSTEMS = ["dvc", "delta", "s3", "lakefs"]
TEAMS = [f"team-{name}" for name in ("atlas", "borealis", "cobalt", "delta", "ember", "fjord", "granite", "harbor")]


def _hex(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------- seeding


@dataclass
class Graph:
    """What the measurement needs to know about the seeded graph: node ids by kind and who feeds whom."""

    dataset_nodes: list[int]
    run_nodes: list[int]
    commit_nodes: list[int]
    version_node: dict[int, int]  # version id -> node id
    version_number: dict[int, int]  # version id -> number within its model
    producing_runs: set[int]  # run nodes that produced at least one version
    used_datasets: set[int]  # dataset nodes with at least one downstream edge
    versions_per_model: int
    counts: dict[str, Any] = field(default_factory=dict)


def _insert(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(table.insert(), rows[start:start + BATCH])


def seed_graph(url: str, *, datasets: int, runs: int, commits: int, models: int, versions_per_model: int,
               seed_value: int, analyze: bool) -> Graph:
    """Fill the empty, migrated database at ``url`` with the synthetic graph."""
    started = time.perf_counter()
    rng = random.Random(seed_value)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    epoch = now - timedelta(days=365)
    nodes: list[dict[str, Any]] = []
    dataset_rows: list[dict[str, Any]] = []
    run_rows: list[dict[str, Any]] = []
    commit_rows: list[dict[str, Any]] = []
    model_rows: list[dict[str, Any]] = []
    version_rows: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    edge_counts: dict[str, int] = {kind.value: 0 for kind in EdgeKind}

    def node(kind: NodeKind, moment: datetime, version_id: int | None = None) -> int:
        node_id = len(nodes) + 1
        nodes.append({"id": node_id, "kind": kind.value, "version_id": version_id, "created_at": moment,
                      "created_by": ACTOR})
        return node_id

    def edge(kind: EdgeKind, source: int, target: int, relation: str | None = None) -> None:
        edges.append({"id": len(edges) + 1, "source_id": source, "target_id": target, "kind": kind.value,
                      "relation": relation, "created_at": now, "created_by": ACTOR})
        edge_counts[kind.value] += 1

    # Datasets.
    dataset_nodes = []
    for index in range(datasets):
        moment = epoch + timedelta(seconds=rng.randrange(0, 300 * 86400))
        node_id = node(NodeKind.DATASET, moment)
        dataset_nodes.append(node_id)
        name = f"{FAMILIES[index % len(FAMILIES)]}-data-{index // len(FAMILIES):05d}"
        version = f"v{rng.randint(1, 12)}"
        dataset_rows.append({
            "node_id": node_id, "name": name, "version": version, "uri": f"s3://lake/{name}/{version}",
            "digest": "sha256:" + _hex("dataset", index), "format": rng.choice(FORMATS),
            "size": rng.randrange(10**6, 10**11), "row_count": rng.randrange(10**3, 10**9), "schema": None,
            "source_system": rng.choice(SOURCE_SYSTEMS),
        })
    # Code commits.
    commit_nodes = []
    for index in range(commits):
        node_id = node(NodeKind.CODE_COMMIT, epoch + timedelta(seconds=rng.randrange(0, 300 * 86400)))
        commit_nodes.append(node_id)
        team = TEAMS[index % len(TEAMS)]
        commit_rows.append({"node_id": node_id, "repository_url": f"https://git.example.com/{team}/repo-{index % 40}",
                            "commit_sha": _hex("commit", index)[:40], "branch": rng.choice(("main", "dev", None))})
    # Runs: trained on 3 datasets, every second one validated on 1, built from 1 commit.
    run_nodes = []
    used_datasets: set[int] = set()
    for index in range(runs):
        moment = epoch + timedelta(seconds=rng.randrange(0, 330 * 86400))
        node_id = node(NodeKind.RUN, moment)
        run_nodes.append(node_id)
        run_rows.append({
            "node_id": node_id, "tracker": "MLFLOW", "run_id": _hex("run", index)[:32],
            "run_uri": f"https://mlflow.example.com/#/runs/{index}", "experiment_name": f"experiment-{index % 300}",
            "params": {"learning_rate": str(rng.choice((0.1, 0.01, 0.001))), "epochs": str(rng.randint(5, 200))},
            "metrics": {"accuracy": round(rng.uniform(0.5, 1.0), 4)}, "started_at": moment,
            "ended_at": moment + timedelta(seconds=rng.randrange(60, 86400)), "python_version": "3.11.7",
            "requirements_digest": "sha256:" + _hex("requirements", index % 50),
            "container_image": f"ghcr.io/acme/train:1.{index % 20}",
        })
        for dataset in rng.sample(dataset_nodes, 3):
            edge(EdgeKind.TRAINED_ON, dataset, node_id)
            used_datasets.add(dataset)
        if index % 2 == 0:
            dataset = rng.choice(dataset_nodes)
            edge(EdgeKind.VALIDATED_ON, dataset, node_id)
            used_datasets.add(dataset)
        edge(EdgeKind.BUILT_FROM, rng.choice(commit_nodes), node_id)
    # Models and their versions: produced by a run, trained on a dataset, every second one evaluated on one,
    # each derived from the previous version of its model.
    version_node: dict[int, int] = {}
    version_number: dict[int, int] = {}
    producing_runs: set[int] = set()
    version_id = 0
    for index in range(models):
        model_id = index + 1
        name = model_name(index)
        owner = f"user-{rng.randrange(30):02d}@example.com"
        created = epoch + timedelta(seconds=rng.randrange(0, 30 * 86400))
        moment = created
        previous = None
        for number in range(1, versions_per_model + 1):
            version_id += 1
            moment += timedelta(seconds=rng.randrange(600, 3 * 86400))
            version_rows.append({
                "id": version_id, "model_id": model_id, "version": number, "status": "READY",
                "stage": "PRODUCTION" if number == versions_per_model else "NONE",
                "description": None, "flavor": "pytorch", "signature": None, "params": {},
                "artifact_uri": f"s3://models-example/{name}/{number}/model.tar.gz",
                "artifact_digest": "sha256:" + _hex(name, number, "artifact"), "artifact_size": 10**8,
                "created_at": moment, "created_by": owner, "updated_at": moment,
            })
            node_id = node(NodeKind.MODEL_VERSION, moment, version_id)
            version_node[version_id] = node_id
            version_number[version_id] = number
            run = rng.choice(run_nodes)
            producing_runs.add(run)
            edge(EdgeKind.PRODUCED, run, node_id)
            dataset = rng.choice(dataset_nodes)
            edge(EdgeKind.TRAINED_ON, dataset, node_id)
            used_datasets.add(dataset)
            if version_id % 2 == 0:
                dataset = rng.choice(dataset_nodes)
                edge(EdgeKind.EVALUATED_ON, dataset, node_id)
                used_datasets.add(dataset)
            if previous is not None:
                edge(EdgeKind.DERIVED_FROM, previous, node_id, "fine-tuned")
            previous = node_id
        model_rows.append({"id": model_id, "name": name, "description": f"lineage benchmark model {index}",
                           "owner": owner, "created_at": created, "created_by": owner, "updated_at": moment,
                           "next_version": versions_per_model + 1})
    distinct = {(e["source_id"], e["kind"], e["target_id"]) for e in edges}
    assert len(distinct) == len(edges), "duplicate edges"
    built = time.perf_counter()

    engine = create_engine(driver_urls(url)[1])
    with engine.begin() as connection:
        if is_sqlite(url):
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        for table, rows in ((ModelRow, model_rows), (VersionRow, version_rows), (LineageNodeRow, nodes),
                            (DatasetRow, dataset_rows), (CodeCommitRow, commit_rows), (RunRow, run_rows),
                            (LineageEdgeRow, edges)):
            print(f"  inserting {len(rows):,} rows into {table.__tablename__}", file=sys.stderr, flush=True)
            _insert(connection, table.__table__, rows)
        if not is_sqlite(url):
            # Explicit ids leave the sequences behind; move them past the seeded rows.
            for table in (ModelRow, VersionRow, LineageNodeRow, LineageEdgeRow):
                name = table.__tablename__
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
        assert connection.execute(select(func.count()).select_from(LineageEdgeRow)).scalar_one() == len(edges)
        assert connection.execute(select(func.count()).select_from(LineageNodeRow)).scalar_one() == len(nodes)
    inserted = time.perf_counter()
    if not is_sqlite(url):
        # What autovacuum would do shortly after a bulk load; without it the planner guesses row counts.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        analyzed = "VACUUM ANALYZE"
    elif analyze:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        analyzed = "ANALYZE"
    else:
        analyzed = "none"
    engine.dispose()
    finished = time.perf_counter()
    counts = {
        "nodes": len(nodes), "datasets": len(dataset_rows), "runs": len(run_rows), "code_commits": len(commit_rows),
        "registered_models": len(model_rows), "model_versions": len(version_rows),
        "production_versions": sum(1 for row in version_rows if row["stage"] == "PRODUCTION"),
        "edges": len(edges), "edges_by_kind": {kind: n for kind, n in edge_counts.items() if n},
        "analyze": analyzed, "build_seconds": round(built - started, 2),
        "insert_seconds": round(inserted - built, 2), "analyze_seconds": round(finished - inserted, 2),
        "seconds": round(finished - started, 2),
    }
    return Graph(dataset_nodes, run_nodes, commit_nodes, version_node, version_number, producing_runs,
                 used_datasets, versions_per_model, counts)


# ------------------------------------------------------------------------------------------------ scenarios

NODE_SELECTION = """
    root truncated
    nodes { id kind label depth entity { __typename ... on Dataset { name digest } ... on ModelVersion { uri } } }
    edges { kind upstreamId downstreamId }
"""

LINEAGE = f"""
query Lineage($id: ID!, $direction: LineageDirection!, $depth: Int!, $maxNodes: Int!) {{
  lineage(id: $id, direction: $direction, depth: $depth, maxNodes: $maxNodes) {{ {NODE_SELECTION} }}
}}
"""

IMPACTED = """
query Impacted($nodeId: ID!) {
  impactedModelVersions(nodeId: $nodeId, first: 100) { totalCount nodes { uri } }
}
"""

IMPACTED_PRODUCTION = """
query ImpactedProduction($nodeId: ID!) {
  impactedModelVersions(nodeId: $nodeId, stage: PRODUCTION, first: 100) { totalCount nodes { uri } }
}
"""


SCENARIO_NAMES = [
    *(f"lineage_upstream_version_depth_{depth}" for depth in (3, 10, 25)),
    *(f"lineage_downstream_dataset_depth_{depth}" for depth in (3, 10, 25)),
    "lineage_both_run_depth_10", "impacted_model_versions", "impacted_model_versions_production",
]


@dataclass(frozen=True)
class Root:
    global_id: str
    ref: NodeRef
    node_id: int


@dataclass
class Scenario:
    name: str
    document: str
    roots: list[Root]
    variables: Callable[[Root], dict[str, Any]]
    check: Callable[[Root, dict[str, Any]], str | None]
    # (uow, root node id) -> awaitable: the traversal alone, through the unit of work
    traversal: Callable[[Any, int], Any]
    facts: dict[str, Any] = field(default_factory=dict)
    sizes: Callable[[dict[str, Any]], tuple[int, int]] = lambda data: (0, 0)


def _lineage_check(direction: WalkDirection, depth: int, must_hold: tuple[str, ...]) -> Callable:
    def check(root: Root, data: dict[str, Any]) -> str | None:
        graph = data.get("lineage")
        if not graph:
            return "no lineage in answer"
        nodes = graph["nodes"]
        if len(nodes) < 2 or not graph["edges"]:
            return f"implausibly small graph: {len(nodes)} nodes, {len(graph['edges'])} edges"
        if graph["root"] != root.global_id or nodes[0]["id"] != root.global_id or nodes[0]["depth"] != 0:
            return "the root is not the first node at depth 0"
        if max(n["depth"] for n in nodes) > depth:
            return f"a node deeper than {depth}"
        if len(nodes) > MAX_NODES:
            return f"more than {MAX_NODES} nodes"
        found = {n["entity"]["__typename"] for n in nodes}
        missing = [name for name in must_hold if name not in found]
        if missing:
            return f"{direction.value} depth {depth}: no {', '.join(missing)} among {sorted(found)}"
        ids = {n["id"] for n in nodes}
        if any(e["upstreamId"] not in ids or e["downstreamId"] not in ids for e in graph["edges"]):
            return "an edge to a node not returned"
        for n in nodes:
            entity = n["entity"]
            if entity["__typename"] == "Dataset" and not entity.get("digest"):
                return "a dataset without its digest"
            if entity["__typename"] == "ModelVersion" and not entity.get("uri", "").startswith("models:/"):
                return "a version without its uri"
        return None
    return check


def _impacted_check(production: bool, versions_per_model: int) -> Callable:
    def check(root: Root, data: dict[str, Any]) -> str | None:
        page = data.get("impactedModelVersions")
        if not page:
            return "no impactedModelVersions in answer"
        total, nodes = page["totalCount"], page["nodes"]
        if not total or not nodes:
            return f"no impacted versions (totalCount {total})"
        if len(nodes) != min(100, total):
            return f"{len(nodes)} versions on the page, totalCount {total}"
        if production and any(not n["uri"].endswith(f"/{versions_per_model}") for n in nodes):
            return "a non-PRODUCTION version (PRODUCTION is the newest version of each model)"
        return None
    return check


def _lineage_sizes(data: dict[str, Any]) -> tuple[int, int]:
    graph = data["lineage"]
    return len(graph["nodes"]), len(graph["edges"])


def _impacted_sizes(data: dict[str, Any]) -> tuple[int, int]:
    page = data["impactedModelVersions"]
    return page["totalCount"], len(page["nodes"])


def build_scenarios(graph: Graph, roots: int, seed_value: int) -> list[Scenario]:
    rng = random.Random(seed_value + 1)
    top = graph.versions_per_model
    near_end = [vid for vid, number in graph.version_number.items() if number > top - 5]
    version_roots = [Root(to_global_id("ModelVersion", vid), NodeRef(NodeKind.MODEL_VERSION, vid),
                          graph.version_node[vid]) for vid in rng.sample(near_end, roots)]
    dataset_pool = sorted(graph.used_datasets)
    dataset_roots = [Root(to_global_id("Dataset", n), NodeRef(NodeKind.DATASET, n), n)
                     for n in rng.sample(dataset_pool, roots)]
    impacted_roots = [Root(to_global_id("Dataset", n), NodeRef(NodeKind.DATASET, n), n)
                      for n in rng.sample(dataset_pool, roots)]
    run_roots = [Root(to_global_id("Run", n), NodeRef(NodeKind.RUN, n), n)
                 for n in rng.sample(sorted(graph.producing_runs), roots)]
    every_kind = tuple(EdgeKind)

    def walk(direction: WalkDirection, depth: int) -> Callable[[Any, int], Any]:
        return lambda uow, node_id: uow.walks.walk(node_id, direction, depth, every_kind, MAX_NODES)

    def lineage(name: str, roots_: list[Root], direction: WalkDirection, depth: int,
                must_hold: tuple[str, ...]) -> Scenario:
        return Scenario(
            name=name, document=LINEAGE, roots=roots_,
            variables=lambda root: {"id": root.global_id, "direction": direction.value, "depth": depth,
                                    "maxNodes": MAX_NODES},
            check=_lineage_check(direction, depth, must_hold), traversal=walk(direction, depth),
            facts={"direction": direction.value, "depth": depth, "max_nodes": MAX_NODES},
            sizes=_lineage_sizes)

    scenarios = [
        lineage(f"lineage_upstream_version_depth_{depth}", version_roots, WalkDirection.UPSTREAM, depth,
                ("ModelVersion", "Run", "Dataset", "CodeCommit"))
        for depth in (3, 10, 25)
    ] + [
        lineage(f"lineage_downstream_dataset_depth_{depth}", dataset_roots, WalkDirection.DOWNSTREAM, depth,
                ("Dataset", "ModelVersion"))
        for depth in (3, 10, 25)
    ] + [
        lineage("lineage_both_run_depth_10", run_roots, WalkDirection.BOTH, 10,
                ("Run", "Dataset", "CodeCommit", "ModelVersion")),
    ]
    for name, document, stage in (("impacted_model_versions", IMPACTED, None),
                                  ("impacted_model_versions_production", IMPACTED_PRODUCTION, Stage.PRODUCTION)):
        scenarios.append(Scenario(
            name=name, document=document, roots=impacted_roots,
            variables=lambda root: {"nodeId": root.global_id},
            check=_impacted_check(stage is not None, top),
            traversal=lambda uow, node_id, stage=stage: uow.walks.downstream_versions(
                node_id, stage, PageRequest(100), True),
            facts={"first": 100, "stage": stage.value if stage else None}, sizes=_impacted_sizes))
    assert [s.name for s in scenarios] == SCENARIO_NAMES
    return scenarios


# ---------------------------------------------------------------------------------------------- measuring


class StatementRecorder:
    """Counts and times every SQL statement on the engines behind ``app.state.database``."""

    def __init__(self, database: Any) -> None:
        self.engines = {database.reader.sync_engine, database.writer.sync_engine}
        self.statements: list[tuple[str, float]] = []
        self._started: dict[int, float] = {}

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        began = self._started.pop(id(cursor), None)
        self.statements.append((statement, time.perf_counter() - began if began is not None else 0.0))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, float]]]:
        self.statements = []
        self._started = {}
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "after_cursor_execute", self._after)
        try:
            yield self.statements
        finally:
            for engine in self.engines:
                event.remove(engine, "before_cursor_execute", self._before)
                event.remove(engine, "after_cursor_execute", self._after)


def _is_query(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("SELECT", "WITH"))


def _is_traversal(statement: str) -> bool:
    return statement.lstrip().upper().startswith("WITH RECURSIVE")


async def run_scenario(client: httpx.AsyncClient, recorder: StatementRecorder, uow: SqlUnitOfWorkFactory,
                       scenario: Scenario, repeat: int, database: str) -> tuple[dict[str, Any], int]:
    failures = 0
    samples: list[str] = []

    async def post(root: Root) -> tuple[float, dict[str, Any] | None, str | None]:
        started = time.perf_counter()
        response = await client.post("/graphql", json={"query": scenario.document,
                                                       "variables": scenario.variables(root)})
        elapsed = time.perf_counter() - started
        try:
            body = response.json()
        except ValueError:
            return elapsed, None, f"HTTP {response.status_code}: not JSON: {response.text[:200]}"
        if response.status_code != 200 or body.get("errors"):
            return elapsed, None, f"HTTP {response.status_code}: {json.dumps(body.get('errors'))[:400]}"
        if not body.get("data"):
            return elapsed, None, "no data in answer"
        problem = scenario.check(root, body["data"])
        return elapsed, (body["data"] if problem is None else None), problem

    # Unrecorded warm-up: first use of the document (parsing, validation caches) and of pooled connections.
    await post(scenario.roots[0])

    latencies: list[float] = []
    node_counts: list[int] = []
    edge_counts: list[int] = []
    queries: list[int] = []
    statements_all: list[int] = []
    traversals: list[int] = []
    sql_ms: list[float] = []
    traversal_sql_ms: list[float] = []
    for _ in range(repeat):
        for root in scenario.roots:
            with recorder.recording() as statements:
                elapsed, data, problem = await post(root)
            latencies.append(elapsed)
            if problem is not None:
                failures += 1
                if len(samples) < 3:
                    samples.append(f"{scenario.name} root {root.global_id}: {problem}")
                continue
            nodes, edges = scenario.sizes(data)
            node_counts.append(nodes)
            edge_counts.append(edges)
            statements_all.append(len(statements))
            queries.append(sum(1 for s, _ in statements if _is_query(s)))
            traversals.append(sum(1 for s, _ in statements if _is_traversal(s)))
            sql_ms.append(sum(t for _, t in statements))
            traversal_sql_ms.append(sum(t for s, t in statements if _is_traversal(s)))

    # The traversal alone, through the unit of work: the root lookup first (as the service does), then the walk.
    walk_seconds: list[float] = []
    walk_statements: list[int] = []
    for _ in range(repeat):
        for root in scenario.roots:
            async with uow(write=False) as work:
                node_id = await work.lineage.node_id(root.ref)
                assert node_id == root.node_id, (root, node_id)
                with recorder.recording() as statements:
                    started = time.perf_counter()
                    await scenario.traversal(work, node_id)
                    walk_seconds.append(time.perf_counter() - started)
                walk_statements.append(len(statements))

    for sample in samples:
        print(f"  ERROR {sample}", file=sys.stderr, flush=True)
    mean = lambda values: round(statistics.fmean(values), 1) if values else None  # noqa: E731
    result = {
        "scenario": scenario.name, "database": database, **scenario.facts,
        "roots": len(scenario.roots), "requests": len(latencies), "errors": failures,
        "p50_ms": ms(percentile(latencies, 0.50)), "p95_ms": ms(percentile(latencies, 0.95)),
        "max_ms": ms(max(latencies, default=None)),
    }
    if scenario.document is LINEAGE:
        result.update({"mean_nodes": mean(node_counts), "max_nodes_returned": max(node_counts, default=None),
                       "mean_edges": mean(edge_counts)})
    else:
        result.update({"mean_total_count": mean(node_counts), "mean_page_nodes": mean(edge_counts)})
    result.update({
        "statements_per_request": mean(statements_all), "queries_per_request": mean(queries),
        "queries_per_request_max": max(queries, default=None),
        "traversal_statements_per_request": mean(traversals),
        "sql_ms_p50": ms(percentile(sql_ms, 0.5)), "traversal_sql_ms_p50": ms(percentile(traversal_sql_ms, 0.5)),
        "uow_traversal_ms_p50": ms(percentile(walk_seconds, 0.5)),
        "uow_traversal_ms_p95": ms(percentile(walk_seconds, 0.95)),
        "uow_traversal_statements": max(walk_statements, default=None),
    })
    return result, failures


async def measure(args: argparse.Namespace, url: str, data_dir: Path, graph: Graph) -> int:
    scenarios = build_scenarios(graph, args.roots, args.seed)
    if args.scenario:
        scenarios = [s for s in scenarios if s.name in args.scenario]
    settings = Settings(data_dir=data_dir, database_url=url)
    token = mint_token(data_dir, subject=ACTOR, roles=["auditor"], audience=settings.oidc_audience,
                       ttl_seconds=3600)
    app = create_app(settings)
    failures = 0
    gc.collect()
    async with app.router.lifespan_context(app):
        recorder = StatementRecorder(app.state.database)
        uow = SqlUnitOfWorkFactory(app.state.database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            for scenario in scenarios:
                print(f"{scenario.name}...", file=sys.stderr, flush=True)
                result, failed = await run_scenario(client, recorder, uow, scenario, args.repeat, args.database)
                failures += failed
                print(json.dumps(result), flush=True)
            if args.explain:
                explain(url, graph, scenarios)
    return failures


def explain(url: str, graph: Graph, scenarios: list[Scenario]) -> None:
    """The plan of the walk statement at depth 10 for the first root of each direction (stderr)."""
    engine = create_engine(driver_urls(url)[1])
    seen = set()
    try:
        with engine.connect() as connection:
            for scenario in scenarios:
                direction = scenario.facts.get("direction")
                if direction is None or (direction, scenario.facts["depth"]) in seen or scenario.facts["depth"] != 10:
                    continue
                seen.add((direction, 10))
                directions = ([WalkDirection.UPSTREAM, WalkDirection.DOWNSTREAM] if direction == "BOTH"
                              else [WalkDirection(direction)])
                sql = _walk_sql(directions, "")
                params = {"root": scenario.roots[0].node_id, "depth": 10, "limit": MAX_NODES + 1}
                prefix = "EXPLAIN QUERY PLAN " if is_sqlite(url) else "EXPLAIN (ANALYZE, BUFFERS) "
                rows = connection.execute(text(prefix + sql), params).all()
                print(f"--- plan of the {direction} walk at depth 10 (root node {params['root']}):", file=sys.stderr)
                for row in rows:
                    print("  " + (" | ".join(str(v) for v in row) if is_sqlite(url) else str(row[0])),
                          file=sys.stderr)
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default=None,
                        help="backend (default sqlite; postgresql when --database-url is a PostgreSQL URL)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server to create the throw-away database on (default "
                             f"{DEFAULT_POSTGRES_URL}, or MODELREG_BENCH_POSTGRES_URL); the database is dropped "
                             "at the end")
    parser.add_argument("--quick", action="store_true", help="a graph 10x smaller: smoke run under a minute")
    parser.add_argument("--repeat", type=int, default=3, help="times each root is asked (default %(default)s)")
    parser.add_argument("--roots", type=int, default=20, help="different roots per scenario (default %(default)s)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for the graph and the roots")
    parser.add_argument("--scenario", action="append", choices=SCENARIO_NAMES,
                        help="run only this scenario (repeatable)")
    parser.add_argument("--no-analyze", action="store_true",
                        help="SQLite: skip ANALYZE after seeding (the app itself never runs it)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of the depth-10 walks to stderr (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE)")
    args = parser.parse_args(argv)
    if args.database is None:
        args.database = "postgresql" if (args.database_url or "").startswith("postgres") else "sqlite"
    if args.database == "postgresql":
        args.database_url = args.database_url or os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        if not args.database_url.startswith("postgres"):
            parser.error("--database postgresql needs a postgresql:// --database-url")
    elif args.database_url:
        parser.error("--database-url is the PostgreSQL server to create the database on; SQLite uses a temporary file")
    if args.repeat < 1 or args.roots < 1:
        parser.error("--repeat and --roots must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = 10 if args.quick else 1
    work_dir = Path(tempfile.mkdtemp(prefix="modelreg-lineage-bench-"))
    try:
        server_url = args.database_url if args.database == "postgresql" else ""
        with fresh_database(work_dir, "lineage", server_url) as url:
            print(f"seeding the lineage graph into {args.database}{' (quick)' if args.quick else ''}...",
                  file=sys.stderr, flush=True)
            graph = seed_graph(url, datasets=DATASETS // scale, runs=RUNS // scale, commits=COMMITS // scale,
                               models=MODELS // scale, versions_per_model=VERSIONS_PER_MODEL,
                               seed_value=args.seed, analyze=not args.no_analyze)
            print(json.dumps({"seed": "lineage", "database": args.database, "quick": args.quick,
                              **graph.counts}), flush=True)
            (work_dir / "data").mkdir()
            failures = asyncio.run(measure(args, url, work_dir / "data", graph))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if failures:
        print(f"FAILED: {failures} request(s) errored or answered implausibly; samples above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
