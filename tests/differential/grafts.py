"""Deeper queries than Hypothesis makes alone.

hypothesis-graphql picks each field of a selection with a probability fitted to the whole schema, so a
connection mostly gets `totalCount` or `pageInfo` and seldom `edges`: of its queries for the anonymous
caller, three in a hundred select three levels the caller may see. A connection field without `edges`
therefore gets, most times, `edges { node { ... } }` with the node's selection drawn by
hypothesis-graphql too, from the schema rooted at the node's type (a pool per type, from the seed).
"""

from __future__ import annotations

import random
import zlib

import hypothesis_graphql
from graphql import GraphQLObjectType, GraphQLSchema, get_named_type
from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.differential.ir import Document, Field, Inline, Selection, from_text
from tests.differential.values import scalars
from tests.differential.world import World

GRAFT_RATE = 0.6
POOL = 30


class Grafts:
    def __init__(self, schema: GraphQLSchema, world: World, base_seed: int) -> None:
        self.schema = schema
        self.custom = scalars(world)
        self.base_seed = base_seed
        self._pools: dict[str, list[str]] = {}
        self.grafted = 0

    def pool(self, type_name: str) -> list[str]:
        """Selections of `type_name` as hypothesis-graphql makes them (as `{ ... }` documents)."""
        if type_name not in self._pools:
            root = self.schema.get_type(type_name)
            assert isinstance(root, GraphQLObjectType)
            rooted = GraphQLSchema(query=root, types=list(self.schema.type_map.values()))
            found: list[str] = []

            @settings(
                max_examples=POOL,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @seed(self.base_seed + zlib.crc32(type_name.encode()))
            @given(hypothesis_graphql.queries(rooted, custom_scalars=self.custom))
            def collect(text: str) -> None:
                found.append(text)

            collect()
            self._pools[type_name] = found
        return self._pools[type_name]

    def _edges(self, f: Field) -> Field | None:
        connection = self.schema.get_type(f.type)
        if not f.type.endswith("Connection") or not isinstance(connection, GraphQLObjectType):
            return None
        if any(isinstance(s, Field) and s.name == "edges" for s in f.selections):
            return None
        edge = get_named_type(connection.fields["edges"].type)
        node = get_named_type(edge.fields["node"].type)  # type: ignore[union-attr]
        return Field("edges", edge.name, selections=[Field("node", node.name)])

    def deepen(self, doc: Document, rng: random.Random) -> Document:
        def visit(selections: list[Selection]) -> None:
            for s in selections:
                if isinstance(s, Field):
                    edges = self._edges(s)
                    if edges is not None and rng.random() < GRAFT_RATE:
                        node = edges.selections[0]
                        assert isinstance(node, Field)
                        text = rng.choice(self.pool(node.type))
                        node.selections = (
                            from_text(self.schema, text, root=node.type).operations[0].selections
                        )
                        s.selections.append(edges)
                        self.grafted += 1
                    visit(s.selections)
                elif isinstance(s, Inline):
                    visit(s.selections)

        for op in doc.operations:
            visit(op.selections)
        return doc
