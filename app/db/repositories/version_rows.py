"""PostgreSQL: a new version with its tags and metrics in one statement.

A new version's row, its tags and its metrics were three ``INSERT`` statements, each a round trip on PostgreSQL.
Here the version's ``INSERT ... RETURNING`` is a CTE, and the tags and metrics are inserted from it by two more
data-modifying CTEs, their values given as one array per column (``unnest``): one statement, whatever the number of
tags and metrics, and one prepared statement for every version. Metrics keep the order they were given in (their
ids are numbered in it: ``WITH ORDINALITY`` ... ``ORDER BY``), which is the order they are read back in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Float, String, Table, Text, bindparam, func, insert, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.entities import Metric

from ..prepared import PreparedRead
from ..prepared_rows import insert_row
from ..tables import MetricRow, VersionRow, VersionTagRow

_VERSIONS = cast(Table, VersionRow.__table__)
_TAGS = cast(Table, VersionTagRow.__table__)
_METRICS = cast(Table, MetricRow.__table__)


def _version_with_children() -> PreparedRead:
    version = insert_row(_VERSIONS).returning(*_VERSIONS.c).cte("version")
    tag = (
        func.unnest(bindparam("tag_keys", type_=ARRAY(String())), bindparam("tag_values", type_=ARRAY(Text())))
        .table_valued("key", "value")
        .render_derived(name="tag")
    )
    tags = (
        insert(_TAGS)
        .from_select(
            ["version_id", "key", "value"],
            select(version.c.id, tag.c.key, tag.c.value).select_from(version).join(tag, true()),
        )
        .cte("tags")
    )
    metric = (
        func.unnest(
            bindparam("metric_names", type_=ARRAY(String())),
            bindparam("metric_values", type_=ARRAY(Float())),
            bindparam("metric_datasets", type_=ARRAY(String())),
            bindparam("metric_steps", type_=ARRAY(BigInteger())),
        )
        .table_valued("name", "value", "dataset", "step", with_ordinality="position")
        .render_derived(name="metric")
    )
    metrics = (
        insert(_METRICS)
        .from_select(
            ["version_id", "name", "value", "dataset", "step"],
            select(version.c.id, metric.c.name, metric.c.value, metric.c.dataset, metric.c.step)
            .select_from(version)
            .join(metric, true())
            .order_by(metric.c.position),
        )
        .cte("metrics")
    )
    return PreparedRead(select(*version.c).add_cte(tags, metrics))


_VERSION_WITH_CHILDREN = _version_with_children()


async def add_version_with_children(
    session: AsyncSession, values: Mapping[str, Any], tags: Mapping[str, str], metrics: Sequence[Metric]
) -> Any:
    """Insert a version's row (``values``: every column but its id) with its ``tags`` and ``metrics``; the row."""
    (row,) = await _VERSION_WITH_CHILDREN.all(
        session,
        {
            **values,
            "tag_keys": list(tags),
            "tag_values": list(tags.values()),
            "metric_names": [metric.name for metric in metrics],
            "metric_values": [metric.value for metric in metrics],
            "metric_datasets": [metric.dataset for metric in metrics],
            "metric_steps": [metric.step for metric in metrics],
        },
    )
    return row
