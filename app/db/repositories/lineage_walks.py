"""Graph walks as recursive SQL statements (``WITH RECURSIVE``, the same text on SQLite and PostgreSQL).

Every walk is cycle-safe: bounded walks keep (node, depth) pairs with ``UNION``, so a cycle stops at the
depth bound; unbounded walks keep distinct rows with ``UNION``, so they stop when nothing new is reached (the
graph itself has no cycles: ``addLineageEdge`` refuses them).
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.entities import ModelVersion, Stage
from app.domain.lineage import EdgeKind, WalkDirection
from app.domain.lineage_queries import EdgeRow, Walk, WalkRow
from app.domain.queries import Direction, Page, PageRequest
from app.domain.read_scope import EVERYTHING, ReadScope

from ..lineage_tables import LineageEdgeRow, LineageNodeRow
from ..mapping import ref_of, to_version
from ..pagination import fetch_page
from ..read_scope import name_in_scope
from ..tables import ModelRow, UTCDateTime, VersionRow

# One recursive member per direction: from the nodes reached so far, one more hop along edges of the kinds.
_STEP = {
    WalkDirection.DOWNSTREAM: ("down", "e.source_id", "e.target_id"),
    WalkDirection.UPSTREAM: ("up", "e.target_id", "e.source_id"),
}


def _out_of_scope_filter(scope: ReadScope) -> tuple[str, dict[str, str]]:
    """A condition of the recursive step that walks no further from a version the caller may not read (it is still
    reached, and shown as a stub), with its parameters: one name range per namespace, as ``name_in_scope``."""
    if scope.everything:
        return "", {}
    params: dict[str, str] = {}
    ranges = []
    for number, (low, high) in enumerate(scope.ranges()):
        params[f"scope_low_{number}"], params[f"scope_high_{number}"] = low, high
        ranges.append(f"(bm.name >= :scope_low_{number} AND bm.name < :scope_high_{number})")
    readable = " OR ".join(ranges) or "1 = 0"
    return (
        " AND NOT EXISTS (SELECT 1 FROM lineage_nodes bn JOIN model_versions bv ON bv.id = bn.version_id"
        f" JOIN registered_models bm ON bm.id = bv.model_id WHERE bn.id = w.node_id AND NOT ({readable}))",
        params,
    )


def _walk_sql(directions: list[WalkDirection], kind_filter: str, scope_filter: str = "") -> str:
    ctes = []
    for direction in directions:
        name, near, far = _STEP[direction]
        # Edges of other kinds yield a NULL node (dropped by the join with lineage_nodes) rather than being filtered
        # in WHERE: with statistics, SQLite turns a filtered index lookup into a full-table Bloom filter per run.
        step = f"CASE WHEN 1 = 1{kind_filter} THEN {far} END" if kind_filter else far
        # One hop past the bound: a node first reached there proves the bound cut the walk (it is not returned).
        ctes.append(
            f"{name}(node_id, depth) AS ("
            f" SELECT CAST(:root AS BIGINT), 0"
            f" UNION"
            f" SELECT {step}, w.depth + 1 FROM {name} w JOIN lineage_edges e ON {near} = w.node_id"
            f" WHERE w.depth <= :depth AND w.node_id IS NOT NULL{scope_filter})"
        )
    reached = " UNION ALL ".join(f"SELECT node_id, depth FROM {_STEP[d][0]}" for d in directions)
    return (
        "WITH RECURSIVE " + ", ".join(ctes) + ","
        f" reached(node_id, depth) AS (SELECT node_id, MIN(depth) FROM ({reached}) AS r"
        "  WHERE node_id IS NOT NULL GROUP BY node_id),"
        " picked(node_id, depth, kind, version_id) AS ("
        "  SELECT r.node_id, r.depth, n.kind, n.version_id FROM reached r JOIN lineage_nodes n ON n.id = r.node_id"
        "  WHERE r.depth <= :depth ORDER BY r.depth, r.node_id LIMIT :limit)"
        " SELECT 'n' AS row_type, node_id AS a, depth AS b, version_id AS c, kind, NULL AS relation,"
        "  NULL AS created_at, NULL AS created_by FROM picked"
        " UNION ALL"
        " SELECT 'e', e.source_id, e.target_id, e.id, e.kind, e.relation, e.created_at, e.created_by"
        " FROM lineage_edges e JOIN picked s ON s.node_id = e.source_id JOIN picked t ON t.node_id = e.target_id"
        f" WHERE 1 = 1{kind_filter}"
        " UNION ALL"
        " SELECT 'c', NULL, NULL, NULL, NULL, NULL, NULL, NULL"
        " WHERE EXISTS (SELECT 1 FROM reached WHERE depth > :depth)"
    )


class SqlLineageWalks:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def walk(
        self,
        root_id: int,
        direction: WalkDirection,
        depth: int,
        kinds: tuple[EdgeKind, ...],
        max_nodes: int,
        scope: ReadScope = EVERYTHING,
    ) -> Walk:
        """Nodes within ``depth`` hops of the root (nearest first, at most ``max_nodes``), the edges among them,
        and whether a bound cut the walk. One statement. With a read scope, a version out of it is reached but not
        walked past, so nodes behind it neither count towards ``max_nodes`` nor make the walk truncated."""
        directions: list[WalkDirection] = (
            [WalkDirection.UPSTREAM, WalkDirection.DOWNSTREAM] if direction is WalkDirection.BOTH else [direction]
        )
        every_kind = set(kinds) == set(EdgeKind)
        scope_filter, scope_params = _out_of_scope_filter(scope)
        statement = text(_walk_sql(directions, "" if every_kind else " AND e.kind IN :kinds", scope_filter))
        params: dict[str, object] = {"root": root_id, "depth": depth, "limit": max_nodes + 1, **scope_params}
        if not every_kind:
            statement = statement.bindparams(bindparam("kinds", expanding=True))
            params["kinds"] = [kind.value for kind in kinds]
        query = statement.columns(created_at=UTCDateTime)
        nodes: list[WalkRow] = []
        edges: list[EdgeRow] = []
        cut = False
        for row in (await self._session.execute(query, params)).all():
            if row.row_type == "n":
                nodes.append(WalkRow(row.a, ref_of(row.a, row.kind, row.c), row.b))
            elif row.row_type == "e":
                edges.append(EdgeRow(EdgeKind(row.kind), row.a, row.b, row.relation, row.created_at, row.created_by))
            else:
                cut = True
        nodes.sort(key=lambda node: (node.depth, node.node_id))
        if len(nodes) > max_nodes:
            dropped = {node.node_id for node in nodes[max_nodes:]}
            nodes = nodes[:max_nodes]
            edges = [e for e in edges if e.source_id not in dropped and e.target_id not in dropped]
            cut = True
        return Walk(nodes, edges, cut)

    async def path(self, from_id: int, to_id: int) -> list[int] | None:
        """A downstream path from one node to another (both included), or None: the cycle an edge ``to -> from``
        would close. One statement when there is no path (the usual case); a second one finds the path."""
        reach = text(
            "WITH RECURSIVE down(node_id) AS ("
            " SELECT CAST(:start AS BIGINT)"
            " UNION"
            " SELECT e.target_id FROM down d JOIN lineage_edges e ON e.source_id = d.node_id)"
            " SELECT 1 FROM down WHERE node_id = :goal LIMIT 1"
        )
        params = {"start": from_id, "goal": to_id}
        if from_id != to_id and (await self._session.execute(reach, params)).first() is None:
            return None
        steps = text(
            "WITH RECURSIVE down(node_id, parent_id) AS ("
            " SELECT CAST(:start AS BIGINT), CAST(NULL AS BIGINT)"
            " UNION"
            " SELECT e.target_id, e.source_id FROM down d JOIN lineage_edges e ON e.source_id = d.node_id)"
            " SELECT node_id, parent_id FROM down WHERE parent_id IS NOT NULL"
        )
        parents: dict[int, int] = {}
        for node_id, parent_id in (await self._session.execute(steps, params)).all():
            parents.setdefault(node_id, parent_id)
        path = [to_id]
        while path[-1] != from_id and len(path) <= len(parents):
            path.append(parents[path[-1]])
        return path[::-1]

    async def downstream_versions(
        self, root_id: int, stage: Stage | None, page: PageRequest, with_total: bool, scope: ReadScope = EVERYTHING
    ) -> Page[ModelVersion]:
        """Versions downstream of a node along any edge but DEPLOYED_AS, however far: a page by version id.

        DEPLOYED_AS targets are reached but flagged ``stop`` and never walked past, instead of filtering the edges
        in the recursive step (which SQLite, given statistics, plans as a full-table Bloom filter per run)."""
        down = (
            select(LineageNodeRow.id.label("node_id"), literal(0).label("stop"))
            .where(LineageNodeRow.id == root_id)
            .cte("down", recursive=True)
        )
        down = down.union(
            select(LineageEdgeRow.target_id, case((LineageEdgeRow.kind == EdgeKind.DEPLOYED_AS.value, 1), else_=0))
            .join(down, LineageEdgeRow.source_id == down.c.node_id)
            .where(down.c.stop == 0)
        )
        query = (
            select(VersionRow, ModelRow.name, VersionRow.id)
            .join(ModelRow, ModelRow.id == VersionRow.model_id)
            .join(LineageNodeRow, LineageNodeRow.version_id == VersionRow.id)
            .join(down, down.c.node_id == LineageNodeRow.id)
            .where(down.c.node_id != root_id, down.c.stop == 0, *name_in_scope(ModelRow.name, scope))
        )
        if stage is not None:
            query = query.where(VersionRow.stage == stage.value)
        return await fetch_page(
            self._session,
            query,
            list_name=f"impacted-versions/{root_id}",
            sort_key=VersionRow.id,
            id_column=VersionRow.id,
            direction=Direction.DESC,
            page=page,
            with_total=with_total,
            convert=lambda row: to_version(row[0], row[1]),
        )
