"""What one request costs, from the requested page sizes, computed before execution.

Cost, in the manner of GitHub's node limit: every field costs 1, and what a page holds is paid once
per item it may hold. A connection multiplies its `edges` by `first`/`last` (20 when neither is
given, the pagination default); a list field sized by an argument (`topCampaigns(first:)`,
`nodes(ids:)`) multiplies its whole subtree, and so does a list sized by nothing else, by its bound
in list_bounds.py (`dailyMetrics`: the days of its range). A full-text or proximity search costs
SEARCH_COST more than a plain filter. Fragments are expanded where they are spread; the alternative
type branches of an abstract field are added up, so the cost is an upper bound. The cost depends on
the variables (`first: $n`), so it is kept per document, operation and variables, for the requests
sent again and again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.language import OperationType
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.utilities import get_operation_ast

from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.extensions.cost_variables import read_variables
from schema.extensions.list_bounds import BOUND_ARGUMENTS, DEFAULT_DAYS, list_bound, range_days

# A write does more than a read of the same shape (Shopify charges 10 per mutation).
MUTATION_FIELD_COST = 10
PAGE_ARGUMENTS = ("first", "last")
# List arguments whose length is the number of items returned.
SIZING_LIST_ARGUMENTS = ("ids", "representations")
CONNECTION_SUFFIX = "Connection"
PAGED_CHILDREN = frozenset({"edges", "nodes"})
META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}
# A full-text search (websearch_to_tsquery over a GIN index) or a proximity search (the haversine
# distance of every merchant in the bounding box) is dearer than an indexed equality filter: it is
# paid like fifty more items.
SEARCH_ARGUMENT, NEAR_ARGUMENT = "search", "near"
SEARCH_COST = 50
# What counting reads of a field's arguments: these at their top, and searches at any depth too.
NESTED_ARGUMENTS = frozenset({SEARCH_ARGUMENT, NEAR_ARGUMENT})
TOP_ARGUMENTS = frozenset({*PAGE_ARGUMENTS, *SIZING_LIST_ARGUMENTS, *BOUND_ARGUMENTS, *NESTED_ARGUMENTS})


# Costs of recent requests, by document (the parser's cache hands out one object per text, held here
# beside its cost so its id is not reused), operation and the variables the cost reads: a dashboard
# sends the same request again and again, and counting a large document is a fair share of a cached
# answer's work. Which variables the cost reads is kept per document and operation.
COSTS_KEPT = 1024
_costs: OrderedDict[tuple[int, str | None, bytes], tuple[DocumentNode, int]] = OrderedDict()
_reads: OrderedDict[tuple[int, str | None], tuple[DocumentNode, frozenset[str]]] = OrderedDict()


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """Return the cost of the operation the request runs (0 when there is none to run)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or schema.get_root_type(operation.operation) is None:
        return 0
    read = _read_variables(schema, document, operation, operation_name)
    used = {name: value for name, value in (variables or {}).items() if name in read}
    try:
        memo = (id(document), operation_name, orjson.dumps(used, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # variables orjson cannot write (not from a JSON body): counted every time
        return _query_cost(schema, document, operation, read, used)
    found = _costs.get(memo)
    if found is not None and found[0] is document:
        _costs.move_to_end(memo)
        return found[1]
    cost = _query_cost(schema, document, operation, read, used)
    _keep(_costs, memo, (document, cost))
    return cost


def _read_variables(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, name: str | None
) -> frozenset[str]:
    memo = (id(document), name)
    found = _reads.get(memo)
    if found is not None and found[0] is document:
        _reads.move_to_end(memo)
        return found[1]
    read = read_variables(schema, document, operation, top=TOP_ARGUMENTS, nested=NESTED_ARGUMENTS)
    _keep(_reads, memo, (document, read))
    return read


def _keep(kept: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    kept[key] = value
    if len(kept) > COSTS_KEPT:
        kept.popitem(last=False)


def _query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    read: frozenset[str],
    variables: Mapping[str, Any],
) -> int:
    root = schema.get_root_type(operation.operation)
    definitions = [d for d in operation.variable_definitions or () if d.variable.name.value in read]
    coerced = get_variable_values(schema, definitions, dict(variables))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    counter = _CostCounter(schema, fragments, coerced if isinstance(coerced, VariableValues) else None)
    field_cost = MUTATION_FIELD_COST if operation.operation is OperationType.MUTATION else 1
    return counter.selections(operation.selection_set, root, frozenset(), field_cost=field_cost)


class _CostCounter:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues | None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        # Days of the nearest `range` argument above the field being counted (the default range at the top).
        self.days = DEFAULT_DAYS

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: Any,
        spread: frozenset[str],
        *,
        field_cost: int = 1,
        page: int | None = None,
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost = self.field(selection, parent, spread, field_cost)
                paged = page is not None and selection.name.value in PAGED_CHILDREN
                total += cost * page if paged and page is not None else cost
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, inner, spread, page=page)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spread:  # cycles are refused by validation anyway
                    continue
                inner = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selections(fragment.selection_set, inner, spread | {name}, page=page)
        return total

    def field(self, node: FieldNode, parent: Any, spread: frozenset[str], own_cost: int) -> int:
        definition = META_FIELDS.get(node.name.value) or getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:
            return own_cost
        arguments = self.arguments(definition, node)
        own_cost += SEARCH_COST if _searches(arguments) else 0
        if node.selection_set is None:
            return own_cost
        returned = get_named_type(definition.type)
        outer_days = self.days
        # A range argument sizes the day lists below it too (flagUsage(range) > ... > days).
        self.days = range_days(arguments, outer_days)
        try:
            if returned.name.endswith(CONNECTION_SUFFIX):
                page = _size(arguments)
                return own_cost + self.selections(
                    node.selection_set, returned, spread, page=DEFAULT_PAGE_SIZE if page is None else page
                )
            children = self.selections(node.selection_set, returned, spread)
            if not is_list_type(get_nullable_type(definition.type)):
                return own_cost + children
            size = _size(arguments)
            if size is None:
                size = list_bound(getattr(parent, "name", ""), node.name.value, arguments, self.days)
            return own_cost + children * (1 if size is None else size)
        finally:
            self.days = outer_days

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's coerced arguments ({} when it has none or they are invalid)."""
        if not definition.args:
            return {}
        try:
            return get_argument_values(definition, node, self.variables)
        except (GraphQLError, TypeError, ValueError):
            # Invalid arguments fail at execution with their own error; the default sizes stand.
            return {}


def _size(arguments: dict[str, Any]) -> int | None:
    """How many items the field may return, from its page or id-list arguments (None: not sized by them)."""
    pages = [arguments.get(name) for name in PAGE_ARGUMENTS]
    sizes = [max(0, p) for p in pages if isinstance(p, int)]
    sizes += [len(v) for name in SIZING_LIST_ARGUMENTS if isinstance(v := arguments.get(name), list)]
    return max(sizes) if sizes else None


def _searches(arguments: Any) -> bool:
    """Whether a non-blank `search` or a `near` is among the arguments, at any depth of their inputs."""
    if not isinstance(arguments, dict):
        return False
    text = arguments.get(SEARCH_ARGUMENT)
    if (isinstance(text, str) and text.strip()) or isinstance(arguments.get(NEAR_ARGUMENT), dict):
        return True
    return any(_searches(value) for value in arguments.values())
