"""The constructs hypothesis-graphql never makes, added to its queries: variables (with definitions,
defaults and values), `@skip` / `@include` with literal and variable conditions, aliases (two of one
field with different arguments among them), duplicated fields the executor must merge, inline and named
fragments, `__typename`, operation names, and documents of two operations run by operationName.

Deterministic: every choice comes from the `random.Random` given. Variables are lifted first, so a
field duplicated later keeps exactly the arguments of its original (merging needs equal arguments).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLNonNull, GraphQLSchema, Undefined

from tests.differential.ir import (
    Document,
    Field,
    Fragment,
    Inline,
    Operation,
    Selection,
    Spread,
    Var,
    VariableDef,
    json_value,
)
from tests.differential.values import Values

# How often each mutation is applied to a document.
RATES = {
    "variables": 0.5,
    "directives": 0.4,
    "alias_pair": 0.35,
    "aliases": 0.3,
    "duplicate": 0.35,
    "inline": 0.35,
    "fragment": 0.4,
    "typename": 0.4,
    "name": 0.6,
    "two_operations": 0.12,
}


def _lists(doc: Document) -> Iterator[tuple[str, list[Selection]]]:
    """Every selection list of the document with the type it selects on."""

    def inside(scope: str, selections: list[Selection]) -> Iterator[tuple[str, list[Selection]]]:
        yield scope, selections
        for s in selections:
            if isinstance(s, Field) and s.selections:
                yield from inside(s.type, s.selections)
            elif isinstance(s, Inline):
                yield from inside(s.scope, s.selections)

    for op in doc.operations:
        yield from inside("Query", op.selections)
    for fragment in doc.fragments:
        yield from inside(fragment.on, fragment.selections)


def _fields(doc: Document) -> list[tuple[str, list[Selection], Field]]:
    return [
        (scope, selections, s)
        for scope, selections in _lists(doc)
        for s in selections
        if isinstance(s, Field) and s.name != "__typename"
    ]


class Mutator:
    def __init__(self, schema: GraphQLSchema, values: Values, rng: random.Random) -> None:
        self.schema = schema
        self.values = values
        self.rng = rng
        self.count = 0
        self.applied: dict[str, int] = dict.fromkeys(RATES, 0)

    def _fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def _maybe(self, name: str) -> bool:
        hit = self.rng.random() < RATES[name]
        self.applied[name] += hit
        return hit

    def mutate(self, doc: Document, partner: Document | None = None) -> Document:
        doc = doc.clone()
        op = doc.operations[0]
        steps = [
            ("variables", self.lift_variables),
            ("directives", self.directives),
            ("alias_pair", self.alias_pair),
            ("aliases", self.aliases),
            ("duplicate", self.duplicate),
            ("inline", self.inline_fragment),
            ("fragment", self.named_fragment),
            ("typename", self.typename),
        ]
        for name, step in steps:
            if self._maybe(name):
                step(doc, op)
        if self._maybe("name"):
            op.name = self._fresh("Q")
        if partner is not None and self._maybe("two_operations"):
            self.two_operations(doc, partner.clone())
        return doc

    # ------------------------------------------------------------ variables

    def _argument_type(self, scope: str, f: Field, name: str) -> Any:
        return self.schema.get_type(scope).fields[f.name].args[name].type  # type: ignore[union-attr]

    def _define(self, op: Operation, type_: Any, value: Any) -> Var:
        name = self._fresh("v")
        roll = self.rng.random()
        if roll < 0.25:
            op.variables[name] = VariableDef(str(type_), value, has_default=True)
        elif roll < 0.35:
            op.variables[name] = VariableDef(str(type_), value, has_default=True)
            op.values[name] = json_value(value)
        else:
            op.variables[name] = VariableDef(str(type_))
            op.values[name] = json_value(value)
        return Var(name)

    def lift_variables(self, doc: Document, op: Operation) -> None:
        for scope, _, f in _fields(doc):
            for name, value in list(f.args.items()):
                arg_type = self._argument_type(scope, f, name)
                if self.rng.random() < 0.5:
                    f.args[name] = self._define(op, arg_type, value)
                elif isinstance(value, dict):
                    input_type = arg_type.of_type if isinstance(arg_type, GraphQLNonNull) else arg_type
                    for key in list(value):
                        if self.rng.random() < 0.3:
                            value[key] = self._define(op, input_type.fields[key].type, value[key])

    # ------------------------------------------------------------ directives

    def _condition(self, op: Operation) -> str:
        directive = self.rng.choice(["skip", "include"])
        if self.rng.random() < 0.5:
            # mostly kept: a field skipped everywhere would leave little to compare
            keep = self.rng.random() < 0.75
            return f"@{directive}(if: {str(keep != (directive == 'skip')).lower()})"
        name = self._fresh("b")
        if self.rng.random() < 0.5:
            op.variables[name] = VariableDef("Boolean!")
            op.values[name] = self.rng.random() < 0.7 if directive == "include" else self.rng.random() < 0.3
        else:
            op.variables[name] = VariableDef("Boolean", directive == "include", has_default=True)
        return f"@{directive}(if: ${name})"

    def directives(self, doc: Document, op: Operation) -> None:
        fields = _fields(doc)
        for _, _, f in self.rng.sample(fields, k=min(len(fields), self.rng.randint(1, 3))):
            f.directives.append(self._condition(op))

    # ------------------------------------------------------------ aliases

    def alias_pair(self, doc: Document, op: Operation) -> None:
        """The same field twice under two aliases, with different arguments."""
        candidates = [(scope, sel, f) for scope, sel, f in _fields(doc) if f.args]
        if not candidates:
            return
        scope, selections, f = self.rng.choice(candidates)
        twin = copy.deepcopy(f)
        twin.alias = self._fresh(f"{f.name}_")
        twin.directives = []
        definition = self.schema.get_type(scope).fields[f.name]  # type: ignore[union-attr]
        if isinstance(twin.args.get("first"), int):
            twin.args["first"] = self.rng.choice([n for n in range(1, 11) if n != twin.args["first"]])
        elif any(isinstance(v, str) for v in twin.args.values()):
            twin.args = {k: self.values.other_id(v) for k, v in twin.args.items()}
        else:
            # only the required arguments: the others fall back to their defaults
            twin.args = {
                k: v
                for k, v in twin.args.items()
                if isinstance(definition.args[k].type, GraphQLNonNull)
                and definition.args[k].default_value is Undefined
            }
        selections.insert(selections.index(f) + 1, twin)

    def aliases(self, doc: Document, op: Operation) -> None:
        fields = [entry for entry in _fields(doc) if entry[2].alias is None]
        for _, _, f in self.rng.sample(fields, k=min(len(fields), self.rng.randint(1, 3))):
            f.alias = self._fresh(f"a_{f.name}_")

    # ------------------------------------------------------------ merging

    def duplicate(self, doc: Document, op: Operation) -> None:
        """A field again, same response name and arguments, part of its selection: merged into one."""
        scope, selections, f = self.rng.choice(_fields(doc))
        twin = copy.deepcopy(f)
        twin.directives = []
        if twin.selections:
            keep = self.rng.sample(range(len(twin.selections)), k=self.rng.randint(1, len(twin.selections)))
            twin.selections = [twin.selections[i] for i in sorted(keep)]
        where = self.rng.randrange(len(selections) + 1)
        if self.rng.random() < 0.4:
            selections.insert(where, Inline(on=None, scope=scope, selections=[twin]))
        else:
            selections.insert(where, twin)

    # ------------------------------------------------------------ fragments

    def inline_fragment(self, doc: Document, op: Operation) -> None:
        scope, selections = self.rng.choice([entry for entry in _lists(doc) if entry[1]])
        start = self.rng.randrange(len(selections))
        end = self.rng.randint(start + 1, len(selections))
        on = scope if self.rng.random() < 0.6 else None
        inline = Inline(on=on, scope=scope, selections=selections[start:end])
        if self.rng.random() < 0.3:
            inline.directives.append(self._condition(op))
        selections[start:end] = [inline]

    def named_fragment(self, doc: Document, op: Operation) -> None:
        holders: list[tuple[str, Field | Operation]] = [("Query", op)]
        holders += [(f.type, f) for _, _, f in _fields(doc) if f.selections]
        for scope, holder in self.rng.sample(holders, k=min(len(holders), self.rng.randint(1, 2))):
            fragment = Fragment(self._fresh("F"), scope, holder.selections)
            doc.fragments.append(fragment)
            spread: list[Selection] = [Spread(fragment.name)]
            roll = self.rng.random()
            if roll < 0.2:
                spread.append(Spread(fragment.name))  # the same fragment twice
            elif roll < 0.4:
                spread[0].directives.append(self._condition(op))
                spread.append(Field("__typename", "String"))
            holder.selections = spread

    def typename(self, doc: Document, op: Operation) -> None:
        lists = list(_lists(doc))
        for _, selections in self.rng.sample(lists, k=min(len(lists), self.rng.randint(1, 2))):
            selections.insert(self.rng.randrange(len(selections) + 1), Field("__typename", "String"))

    # ------------------------------------------------------------ operations

    def two_operations(self, doc: Document, partner: Document) -> None:
        """This document and another in one, both named, one chosen by operationName."""
        renames = {f.name: f"P{f.name}" for f in partner.fragments}
        for fragment in partner.fragments:
            fragment.name = renames[fragment.name]
        for _, selections in _lists(partner):
            for s in selections:
                if isinstance(s, Spread):
                    s.name = renames[s.name]
        ours, theirs = doc.operations[0], partner.operations[0]
        ours.name, theirs.name = self._fresh("A"), self._fresh("B")
        doc.operations = [ours, theirs] if self.rng.random() < 0.5 else [theirs, ours]
        doc.fragments += partner.fragments
        doc.operation_name = self.rng.choice([ours.name, theirs.name])
