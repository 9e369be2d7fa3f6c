"""What lineage reads compute: a version's reproducibility record, and a graph as Mermaid or Graphviz text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .entities import ModelVersion
from .lineage import CodeCommit, Dataset, EdgeKind, LineageGraph, NodeKind, NodeRef, Run, label_of


@dataclass(frozen=True)
class DatasetLink:
    """A dataset a version used, directly or through its producing run."""

    dataset: Dataset
    kind: EdgeKind
    through_run: bool


@dataclass(frozen=True)
class Reproducibility:
    run: Run | None
    commit: CodeCommit | None
    datasets: list[DatasetLink]
    parents: list[tuple[ModelVersion, str | None]]
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing


def missing_for_reproduction(
    version: ModelVersion, run: Run | None, commit: CodeCommit | None, datasets: list[DatasetLink]
) -> list[str]:
    """What a full reproduction of the version lacks, in a fixed order."""
    missing = []
    if run is None:
        missing.append("run")
    if commit is None:
        missing.append("code commit")
    if not any(link.kind is EdgeKind.TRAINED_ON for link in datasets):
        missing.append("training dataset")
    missing += [f"digest of dataset {link.dataset.label}" for link in datasets if link.dataset.digest is None]
    environment = run.environment if run else None
    for label, value in (
        ("python version", environment and environment.python_version),
        ("requirements digest", environment and environment.requirements_digest),
        ("container image", environment and environment.container_image),
    ):
        if not value:
            missing.append(label)
    if version.artifact is None or version.artifact.digest is None:
        missing.append("artifact digest")
    return missing


_SHORT = {
    NodeKind.DATASET: "dataset",
    NodeKind.RUN: "run",
    NodeKind.CODE_COMMIT: "commit",
    NodeKind.MODEL_VERSION: "version",
    NodeKind.EXTERNAL: "external",
}
_MERMAID_SHAPES = {
    NodeKind.DATASET: ('[("', '")]'),
    NodeKind.RUN: ('(["', '"])'),
    NodeKind.CODE_COMMIT: ('{{"', '"}}'),
    NodeKind.MODEL_VERSION: ('["', '"]'),
    NodeKind.EXTERNAL: ('>"', '"]'),
}
_DOT_SHAPES = {
    NodeKind.DATASET: "cylinder",
    NodeKind.RUN: "ellipse",
    NodeKind.CODE_COMMIT: "hexagon",
    NodeKind.MODEL_VERSION: "box",
    NodeKind.EXTERNAL: "note",
}
COLOURS = {
    NodeKind.DATASET: "#2563eb",
    NodeKind.RUN: "#d97706",
    NodeKind.CODE_COMMIT: "#6b7280",
    NodeKind.MODEL_VERSION: "#059669",
    NodeKind.EXTERNAL: "#9333ea",
}


def _node_name(ref: NodeRef) -> str:
    return f"{_SHORT[ref.kind]}_{ref.key}"


def _mermaid_text(label: str) -> str:
    # Mermaid reads entity codes inside quoted labels; quotes and markup characters go in as codes.
    return re.sub(r'["<>#&]', lambda m: f"#{ord(m.group())};", " ".join(label.splitlines()))


def to_mermaid(graph: LineageGraph) -> str:
    """A Mermaid flowchart, left to right along the data flow; paste into any Mermaid renderer."""
    lines = ["flowchart LR"]
    for node in graph.nodes:
        open_, close = _MERMAID_SHAPES[node.ref.kind]
        lines.append(f"  {_node_name(node.ref)}{open_}{_mermaid_text(label_of(node.entity))}{close}")
    for edge in graph.edges:
        label = edge.kind.value + (f": {edge.relation}" if edge.relation else "")
        lines.append(f'  {_node_name(edge.upstream)} -->|"{_mermaid_text(label)}"| {_node_name(edge.downstream)}')
    for kind in NodeKind:
        members = [_node_name(n.ref) for n in graph.nodes if n.ref.kind is kind]
        if members:
            lines.append(f"  classDef {_SHORT[kind]} stroke:{COLOURS[kind]},stroke-width:2px")
            lines.append(f"  class {','.join(members)} {_SHORT[kind]}")
    return "\n".join(lines) + "\n"


def _dot_text(label: str) -> str:
    escaped = label.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "\\n".join(escaped.splitlines()) + '"'


def to_dot(graph: LineageGraph) -> str:
    """A Graphviz digraph (``dot -Tsvg``), left to right along the data flow."""
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node in graph.nodes:
        style = ", penwidth=3" if node.ref == graph.root else ""
        lines.append(
            f"  {_node_name(node.ref)} [label={_dot_text(label_of(node.entity))}, "
            f"shape={_DOT_SHAPES[node.ref.kind]}, color={_dot_text(COLOURS[node.ref.kind])}{style}];"
        )
    for edge in graph.edges:
        label = edge.kind.value + (f": {edge.relation}" if edge.relation else "")
        lines.append(f"  {_node_name(edge.upstream)} -> {_node_name(edge.downstream)} [label={_dot_text(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
