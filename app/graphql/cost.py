"""The static cost of a GraphQL operation, computed from the parsed document and the request's variables before
anything executes (no resolver runs, no SQL statement is issued, no variable is coerced).

The cost model, an upper bound on the objects an operation can make the server produce:

- Every selected field costs 1 (scalars, objects, lists alike; each alias of a field counts separately).
- A connection field (its type's name ends in ``Connection`` and it takes ``first``/``last``) multiplies the
  cost of everything selected under it by its page size: ``first``, else ``last``, else the default page of 20
  (``null`` also means 20). So ``registeredModels(first: 100) { nodes { versions(first: 100) { nodes { version
  } } } }`` costs 1 + 100 * (1 + 1 + 100 * (1 + 1)) = 20,201.
- A lineage walk (a field taking ``maxNodes``) multiplies what is selected under it by ``maxNodes`` (default
  from the schema: 200), the most nodes the walk may return; the depth bound is covered by it.
- Other lists (tags, metrics, aliases, a walk's ``nodes`` and ``edges``) multiply by 1: they are short and
  bounded, or already weighed by the walk that produced them.
- Fragments count where they are spread (a fragment spread inside its own definition counts once, then stops);
  ``@skip``/``@include`` are ignored (the bound holds either way). Unknown fields count 1 and validation
  refuses them later.
- Argument values come from the literal in the document, else the variable's value in the request, else the
  variable's default, else the argument's default in the schema. A value that is not a non-negative integer
  counts as the default (coercion refuses it later).
- A batch costs the sum of its operations.

The limit is ``MODELREG_MAX_QUERY_COST`` (default 100,000: a walk at its largest, 2,000 nodes, with a rich
selection per node costs about 50,000); every document the project ships (docs, README, GraphiQL's default
document, the benchmarks) stays under it, as ``tests/graphql/test_request_budget.py`` checks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_interface_type,
    is_object_type,
    value_from_ast_untyped,
)
from graphql.language import Visitor, visit

DEFAULT_PAGE = 20
PAGE_ARGUMENTS = ("first", "last")
WALK_ARGUMENT = "maxNodes"


class _Walk:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.defaults: dict[str, Any] = {}
        self.consulted: dict[str, None] = {}  # the variables read, in order (a dict as an ordered set)

    def argument(self, node: FieldNode, field: GraphQLField | None, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = argument.value
                if isinstance(value, VariableNode):
                    variable = value.name.value
                    self.consulted[variable] = None
                    if variable in self.variables:
                        return self.variables[variable]
                    return self.defaults.get(variable)
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, NullValueNode):
                    return None
                return None
        if field is not None and name in field.args:
            default = field.args[name].default_value
            return default if isinstance(default, int) else None
        return None

    def multiplier(self, node: FieldNode, field: GraphQLField | None) -> int:
        if field is None:
            return 1
        if WALK_ARGUMENT in field.args:
            return _count(self.argument(node, field, WALK_ARGUMENT), 200)
        named = get_named_type(field.type)
        if named.name.endswith("Connection") and "first" in field.args:
            for name in PAGE_ARGUMENTS:
                value = self.argument(node, field, name)
                if value is not None:
                    return _count(value, DEFAULT_PAGE)
            return DEFAULT_PAGE
        return 1

    def selection_cost(self, selection_set: SelectionSetNode | None, parent: Any, spreading: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                field = None
                if is_object_type(parent) or is_interface_type(parent):
                    field = parent.fields.get(selection.name.value)
                child_type = get_named_type(field.type) if field is not None else None
                children = self.selection_cost(selection.selection_set, child_type, spreading)
                total += 1 + self.multiplier(selection, field) * children
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                fragment_type = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_cost(selection.selection_set, fragment_type, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spreading:
                    continue  # unknown or cyclic: validation refuses the document before it runs
                fragment_type = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection_cost(fragment.selection_set, fragment_type, spreading | {name})
        return total


def _count(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return value


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs (by name, or the only one); None when there is no such operation."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        return next((op for op in operations if op.name and op.name.value == operation_name), None)
    return operations[0] if len(operations) == 1 else None


class _KnownCosts:
    """The costs of one operation of one parsed document, by the values of the variables its walk reads (page sizes
    and walk bounds): a repeated query with other names or ids in its variables is not walked again."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema, self.document = schema, document
        self.consulted: tuple[str, ...] = ()
        self.by_values: dict[tuple[Any, ...], int] = {}

    def key(self, variables: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The values of the consulted variables, typed (True, 1 and 1.0 are equal but count differently); None
        when one cannot be a key."""
        key = tuple((type(value), value) for value in (variables.get(name, _ABSENT) for name in self.consulted))
        try:
            hash(key)
        except TypeError:
            return None
        return key

    def learn(self, consulted: dict[str, None], variables: Mapping[str, Any], cost: int) -> None:
        if not set(consulted) <= set(self.consulted):  # another path through the document: start again
            self.consulted = tuple(dict.fromkeys((*self.consulted, *consulted)))
            self.by_values.clear()
        key = self.key(variables)
        if key is not None and len(self.by_values) < _VALUES_KEPT:
            self.by_values[key] = cost


_ABSENT = object()
_VALUES_KEPT = 64
# Per (document object, operation name), like _LONGEST_LISTS below: the entry keeps its document alive.
_KNOWN_COSTS: OrderedDict[tuple[int, str | None], _KnownCosts] = OrderedDict()
_DOCUMENTS_KEPT = 1000


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None = None,
    *,
    remember: bool = True,
) -> int:
    """The cost of the operation ``operation_name`` of ``document`` with ``variables`` (see the module doc); 0 when
    the document names no runnable operation (execution then refuses it). Remembered per document and the values
    of the variables the walk reads, unless ``remember`` is false (a document parsed afresh for this request: its
    entry could never be found again)."""
    values = variables if isinstance(variables, Mapping) else {}
    if not remember:
        return _walk_cost(schema, document, values, operation_name)[0]
    known = _KNOWN_COSTS.get((id(document), operation_name))
    if known is None or known.document is not document or known.schema is not schema:
        known = _KnownCosts(schema, document)
        _KNOWN_COSTS[(id(document), operation_name)] = known
        if len(_KNOWN_COSTS) > _DOCUMENTS_KEPT:
            _KNOWN_COSTS.popitem(last=False)
    else:
        _KNOWN_COSTS.move_to_end((id(document), operation_name))
        key = known.key(values)
        if key is not None and (cost := known.by_values.get(key)) is not None:
            return cost
    cost, consulted = _walk_cost(schema, document, values, operation_name)
    known.learn(consulted, values, cost)
    return cost


def _walk_cost(
    schema: GraphQLSchema, document: DocumentNode, values: Mapping[str, Any], operation_name: str | None
) -> tuple[int, dict[str, None]]:
    """The cost, walked, and the variables the walk read."""
    operation = select_operation(document, operation_name)
    if operation is None:
        return 0, {}
    walk = _Walk(schema, document, values)
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            walk.defaults[definition.variable.name.value] = value_from_ast_untyped(definition.default_value)
    root = schema.get_root_type(operation.operation)
    return walk.selection_cost(operation.selection_set, root, frozenset()), walk.consulted


class _LongestList(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.longest = 0

    def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
        self.longest = max(self.longest, len(node.values))


# Per document object: the parser's cache hands the same object for the same text, so a repeated query is not
# walked again (the walk was about 7% of a small query's CPU). The entry keeps its document alive, so an id is not
# reused while it is cached.
_LONGEST_LISTS: OrderedDict[int, tuple[DocumentNode, int]] = OrderedDict()
_LONGEST_LISTS_KEPT = 1000


def longest_literal_list(document: DocumentNode) -> int:
    """The length of the longest list literal written in the document (arguments and variable defaults)."""
    cached = _LONGEST_LISTS.get(id(document))
    if cached is not None and cached[0] is document:
        _LONGEST_LISTS.move_to_end(id(document))
        return cached[1]
    visitor = _LongestList()
    visit(document, visitor)
    _LONGEST_LISTS[id(document)] = (document, visitor.longest)
    if len(_LONGEST_LISTS) > _LONGEST_LISTS_KEPT:
        _LONGEST_LISTS.popitem(last=False)
    return visitor.longest


__all__ = ["DEFAULT_PAGE", "longest_literal_list", "operation_cost", "select_operation"]
