"""MLflow's search syntax for registered models and model versions, turned into the registry's filters (run in SQL).

A filter is clauses joined by ``AND`` (MLflow has no ``OR``): ``name = 'x'``, ``name LIKE 'fraud~%'``,
``name ILIKE '%Scorer%'``, ``tags.team = 'risk'``, ``tags.`my key` LIKE 'a%'``; for versions also ``name IN (...)``,
``run_id = '...'`` / ``IN`` / ``NOT IN``, ``source_path LIKE '...'`` and ``version_number >= 3``. Strings are quoted
with ``'`` or ``"``. Names are written in their MLflow form (``fraud~scorer``); a pattern on names is translated the
same way. ``order_by`` takes ``name``, ``creation_timestamp``, ``last_updated_timestamp`` (models) or ``name``,
``version_number``, ``creation_timestamp`` (versions), each with ``ASC`` or ``DESC``; the first key orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from app.domain.errors import BadUserInput
from app.domain.queries import (
    Direction,
    ModelFilter,
    ModelOrder,
    ModelOrderField,
    NumberMatch,
    TagMatch,
    TextMatch,
    VersionFilter,
    VersionOrder,
    VersionOrderField,
)

from .names import to_modelreg

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<quoted>`[^`]*`)
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<number>-?\d+(?![\w.]))
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z0-9_]+|`[^`]*`|"[^"]*"))?)
    )""",
    re.VERBOSE,
)
_COMPARATORS = {"=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"}


@dataclass(frozen=True)
class Clause:
    key: str  # "name", "run_id", "tags.<key>", ...
    comparator: str
    value: Any  # str, int or tuple[str, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise BadUserInput(f"filter: cannot read {text[position : position + 30]!r}", field="filter")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)


def parse_filter(text: str | None) -> list[Clause]:
    """The clauses of an MLflow filter string; BAD_USER_INPUT saying what is wrong with it."""
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise BadUserInput(f"filter {text!r} ends too early", field="filter")
        i += 1
        return tokens[i - 1]

    while True:
        kind, key = take()
        if kind == "quoted":
            key = key[1:-1]
        elif kind != "word":
            raise BadUserInput(f"filter: expected an attribute or tags.<key>, found {key!r}", field="filter")
        kind, comparator = take()
        comparator = comparator.upper()
        if comparator == "NOT":
            _, after = take()
            comparator = f"NOT {after.upper()}"
        if comparator not in _COMPARATORS:
            raise BadUserInput(f"filter: {comparator!r} is not a comparator MLflow's search knows", field="filter")
        value: Any
        if comparator in ("IN", "NOT IN"):
            if take()[1] != "(":
                raise BadUserInput(f"filter: {comparator} needs a list: ('a', 'b')", field="filter")
            items: list[str] = []
            while True:
                kind, item = take()
                if kind != "string":
                    raise BadUserInput("filter: a list holds quoted strings", field="filter")
                items.append(_unquote(item))
                separator = take()[1]
                if separator == ")":
                    break
                if separator != ",":
                    raise BadUserInput("filter: separate list items with ','", field="filter")
            value = tuple(items)
        else:
            kind, raw = take()
            if kind == "string":
                value = _unquote(raw)
            elif kind == "number":
                value = int(raw)
            else:
                raise BadUserInput(f"filter: expected a quoted value or a number after {comparator}", field="filter")
        clauses.append(Clause(_key(key), comparator, value))
        if i == len(tokens):
            return clauses
        kind, word = take()
        if word.upper() != "AND":
            raise BadUserInput(f"filter: clauses are joined with AND (MLflow has no {word!r})", field="filter")


def _key(key: str) -> str:
    lowered = key.lower()
    for prefix in ("tags.", "tag."):
        if lowered.startswith(prefix):
            tag = key[len(prefix) :]
            return "tags." + (tag[1:-1] if tag[:1] in '`"' and len(tag) > 1 else tag)
    return lowered.removeprefix("attributes.").removeprefix("attribute.")


def _text(clause: Clause, names: bool = False) -> TextMatch:
    """A text comparison; names are translated from their MLflow form (``~`` -> ``/``)."""
    convert = to_modelreg if names else (lambda value: value)
    value = clause.value
    if clause.comparator in ("IN", "NOT IN"):
        values = tuple(convert(item) for item in value)
        return TextMatch(one_of=values) if clause.comparator == "IN" else TextMatch(none_of=values)
    if not isinstance(value, str):
        raise BadUserInput(f"filter: {clause.key} is compared with a quoted string", field="filter")
    text: str = convert(value)
    matches = {
        "=": TextMatch(equals=text),
        "!=": TextMatch(not_equals=text),
        "LIKE": TextMatch(like=text),
        "ILIKE": TextMatch(ilike=text),
    }
    if clause.comparator not in matches:
        raise BadUserInput(f"filter: {clause.key} cannot be compared with {clause.comparator}", field="filter")
    return matches[clause.comparator]


def _tag(clause: Clause) -> TagMatch:
    key = clause.key.removeprefix("tags.")
    by_comparator = {"=": "value", "!=": "not_equals", "LIKE": "like", "ILIKE": "ilike"}
    if clause.comparator not in by_comparator or not isinstance(clause.value, str):
        raise BadUserInput("filter: tags are compared with =, !=, LIKE or ILIKE and a string", field="filter")
    return TagMatch(key, **{by_comparator[clause.comparator]: clause.value})


def _merge(current: TextMatch | None, new: TextMatch) -> TextMatch:
    if current is None:
        return new
    changes = {name: value for name, value in vars(new).items() if value is not None}
    if any(getattr(current, name) is not None for name in changes):
        raise BadUserInput("filter: one comparison of each kind per attribute", field="filter")
    return replace(current, **changes)


def model_filter(text: str | None) -> ModelFilter:
    """Registered models: ``name`` (=, !=, LIKE, ILIKE) and tags."""
    name: TextMatch | None = None
    tags: list[TagMatch] = []
    for clause in parse_filter(text):
        if clause.key.startswith("tags."):
            tags.append(_tag(clause))
        elif clause.key == "name" and clause.comparator not in ("IN", "NOT IN"):
            name = _merge(name, _text(clause, names=True))
        else:
            raise BadUserInput(
                f"filter: registered models are searched by name and tags, not {clause.key!r} {clause.comparator}",
                field="filter",
            )
    return ModelFilter(name=name, tags=tuple(tags))


@dataclass
class _VersionConditions:
    name: TextMatch | None = None
    run_id: TextMatch | None = None
    source: TextMatch | None = None
    number: dict[str, int] = field(default_factory=dict)
    tags: list[TagMatch] = field(default_factory=list)


def version_filter(text: str | None) -> VersionFilter:
    """Model versions: ``name``, ``run_id``, ``source_path``, ``version_number`` and tags."""
    found = _VersionConditions()
    numeric = {"=": "equals", "!=": "not_equals", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
    for clause in parse_filter(text):
        if clause.key.startswith("tags."):
            found.tags.append(_tag(clause))
        elif clause.key == "name":
            found.name = _merge(found.name, _text(clause, names=True))
        elif clause.key == "run_id":
            found.run_id = _merge(found.run_id, _text(clause))
        elif clause.key == "source_path":
            found.source = _merge(found.source, _text(clause))
        elif clause.key == "version_number":
            value = clause.value
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if clause.comparator not in numeric or not isinstance(value, int):
                raise BadUserInput("filter: version_number is compared with =, !=, <, <=, >, >= and a number")
            found.number[numeric[clause.comparator]] = value
        else:
            raise BadUserInput(
                f"filter: model versions are searched by name, run_id, source_path, version_number and tags, "
                f"not {clause.key!r}",
                field="filter",
            )
    return VersionFilter(
        model_name=found.name,
        run_id=found.run_id,
        source=found.source,
        number=NumberMatch(**found.number) if found.number else None,
        tags=tuple(found.tags),
    )


def _order_key(order_by: list[str], allowed: dict[str, Any], default: tuple[Any, Direction]) -> tuple[Any, Direction]:
    if not order_by:
        return default
    words = order_by[0].split()
    if not words or len(words) > 2 or words[0].lower() not in allowed:
        raise BadUserInput(
            f"order_by {order_by[0]!r}: use one of {', '.join(sorted(allowed))} with ASC or DESC", field="order_by"
        )
    direction = words[1].upper() if len(words) == 2 else "ASC"
    if direction not in ("ASC", "DESC"):
        raise BadUserInput(f"order_by {order_by[0]!r}: the direction is ASC or DESC", field="order_by")
    return allowed[words[0].lower()], Direction(direction)


def model_order(order_by: list[str]) -> ModelOrder:
    """MLflow orders registered models by name unless told otherwise."""
    allowed = {
        "name": ModelOrderField.NAME,
        "creation_timestamp": ModelOrderField.CREATED_AT,
        "last_updated_timestamp": ModelOrderField.UPDATED_AT,
    }
    order_field, direction = _order_key(order_by, allowed, (ModelOrderField.NAME, Direction.ASC))
    return ModelOrder(order_field, direction)


def version_order(order_by: list[str]) -> VersionOrder:
    """Newest first unless told otherwise."""
    allowed = {
        "name": VersionOrderField.NAME,
        "version_number": VersionOrderField.VERSION,
        "creation_timestamp": VersionOrderField.CREATED_AT,
    }
    order_field, direction = _order_key(order_by, allowed, (VersionOrderField.CREATED_AT, Direction.DESC))
    return VersionOrder(order_field, direction)
