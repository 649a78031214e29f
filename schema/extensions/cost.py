"""What one request costs, from the requested page sizes, computed before execution.

The cost is computed per request, not cached with the document, because it depends on the
variables (`first: $n`). Cost, in the manner of GitHub's node limit: every field costs 1, and what
a page holds is paid once per item it may hold. A connection multiplies its `edges` by
`first`/`last` (20 when neither is given, the pagination default); a list field sized by an
argument (`topCampaigns(first:)`, `nodes(ids:)`) multiplies its whole subtree. Fragments are
expanded where they are spread; the alternative type branches of an abstract field are added up,
so the cost is an upper bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
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

# A write does more than a read of the same shape (Shopify charges 10 per mutation).
MUTATION_FIELD_COST = 10
PAGE_ARGUMENTS = ("first", "last")
# List arguments whose length is the number of items returned.
SIZING_LIST_ARGUMENTS = ("ids", "representations")
CONNECTION_SUFFIX = "Connection"
PAGED_CHILDREN = frozenset({"edges", "nodes"})
META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """Return the cost of the operation the request runs (0 when there is none to run)."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return 0
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
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
        if definition is None or node.selection_set is None:
            return own_cost
        returned = get_named_type(definition.type)
        if returned.name.endswith(CONNECTION_SUFFIX):
            page = self.size(definition, node)
            return own_cost + self.selections(
                node.selection_set, returned, spread, page=DEFAULT_PAGE_SIZE if page is None else page
            )
        children = self.selections(node.selection_set, returned, spread)
        size = self.size(definition, node) if is_list_type(get_nullable_type(definition.type)) else None
        return own_cost + children * (1 if size is None else size)

    def size(self, definition: GraphQLField, node: FieldNode) -> int | None:
        """How many items the field may return, from its arguments (None: not sized by them)."""
        if not any(name in definition.args for name in (*PAGE_ARGUMENTS, *SIZING_LIST_ARGUMENTS)):
            return None
        try:
            arguments = get_argument_values(definition, node, self.variables)
        except (GraphQLError, TypeError, ValueError):
            # Invalid arguments fail at execution with their own error; the default size stands.
            return None
        pages = [arguments.get(name) for name in PAGE_ARGUMENTS]
        sizes = [max(0, p) for p in pages if isinstance(p, int)]
        sizes += [len(v) for name in SIZING_LIST_ARGUMENTS if isinstance(v := arguments.get(name), list)]
        return max(sizes) if sizes else None
