"""What one execution answered, and when two answers are the same.

The same means: `data` serialises to the same bytes (orjson keeps dict order, so key order counts),
and the errors are the same multiset of (message, path, locations, code); the request id differs by
construction and the spec leaves the order of errors open.

With one exception, measured: where an error nulls an object (or the whole `data`), graphql-core
cancels the object's other fields still running (`gather_with_cancel`), so which of *their* errors are
reported depends on which finished first. Run against itself on the by-id fault, graphql-core's
executor disagrees with itself on a few in a hundred such answers. So errors that differ only inside a
subtree both answers hold as null, where the other answer reports an error that nulls that same
subtree, are timing, not a difference; the comparison counts them apart (`timing`).

And where the data differs, the reference is asked again: a value that differs between two runs of
the reference itself (the clock: live experiment results carry `computedAt`, the instant they were
computed) is no executor's doing. Such leaves are masked on both sides (`unstable_paths`, `masked`);
what differs after that, data or errors, is a disagreement.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import graphql
import orjson

# Data at this depth or deeper counts as a query that reached into the graph (the corpus's coverage).
DEEP = 3


@dataclass(frozen=True)
class Case:
    role: str
    document: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    source: str = "generated"

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Case:
        return cls(
            role=entry["role"],
            document=entry["document"],
            variables=entry.get("variables"),
            operation_name=entry.get("operationName"),
            source=entry.get("source", "generated"),
        )


ErrorKey = tuple[str, tuple[Any, ...] | None, tuple[tuple[int, int], ...] | None, Any]


@dataclass(frozen=True)
class Answer:
    data: bytes
    errors: Counter[ErrorKey]
    depth: int

    def readable(self) -> str:
        errors = sorted(self.errors.elements(), key=repr)
        body = {
            "data": orjson.loads(self.data),
            "errors": [{"message": m, "path": p, "locations": loc, "code": c} for m, p, loc, c in errors],
        }
        return json.dumps(body, indent=2, ensure_ascii=False)


def _error_key(error: Any) -> ErrorKey:
    locations = error.locations
    return (
        error.message,
        None if error.path is None else tuple(error.path),
        None if locations is None else tuple((loc.line, loc.column) for loc in locations),
        (error.extensions or {}).get("code"),
    )


Tree = dict[str, "Tree | None"]  # response name -> what is selected under it (None: a leaf)


def _collect(selection_set: Any, fragments: dict[str, Any], into: Tree) -> Tree:
    for s in selection_set.selections:
        if isinstance(s, graphql.FieldNode):
            key = (s.alias or s.name).value
            if s.selection_set is None:
                into.setdefault(key, None)
            else:
                into[key] = _collect(s.selection_set, fragments, into.get(key) or {})
        elif isinstance(s, graphql.InlineFragmentNode):
            _collect(s.selection_set, fragments, into)
        elif s.name.value in fragments:
            _collect(fragments[s.name.value].selection_set, fragments, into)
    return into


@functools.lru_cache(maxsize=4096)
def _selected(document: str, operation_name: str | None) -> Tree:
    """Every response name of the operation and what it selects, type conditions and directives aside."""
    try:
        parsed = graphql.parse(document)
    except graphql.GraphQLError:
        return {}
    fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    operations = [d for d in parsed.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    chosen = [
        op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)
    ]
    return _collect(chosen[0].selection_set, fragments, {}) if chosen else {}


def depth(value: Any, tree: Tree | None) -> int:
    """Levels of fields holding a value: `{"me": {"name": "x"}}` is 2; a null adds no level, nor does a
    JSON scalar's own structure (a leaf is one level, whatever its value)."""
    if value is None:
        return 0
    if isinstance(value, list):
        return max((depth(item, tree) for item in value), default=1)
    if tree is None or not isinstance(value, dict):
        return 1
    return 1 + max((depth(v, tree.get(k)) for k, v in value.items()), default=0)


def data_depth(data: dict[str, Any] | None, document: str, operation_name: str | None = None) -> int:
    if not data:
        return 0
    tree = _selected(document, operation_name)
    return max(depth(v, tree.get(k)) for k, v in data.items())


def answer(result: Any, case: Case) -> Answer:
    data = orjson.dumps(result.data, default=str)
    return Answer(
        data=data,
        errors=Counter(_error_key(e) for e in result.errors or []),
        depth=data_depth(result.data, case.document, case.operation_name),
    )


Path = tuple[Any, ...]


def null_position(data: Any, path: Path) -> Path | None:
    """The highest position on `path` whose value in `data` is null (the root is `()`): where the
    error at `path` left its null; None when the path holds a value (no null to explain)."""
    node = data
    for i, key in enumerate(path):
        if node is None:
            return path[:i]
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return None
    return path if node is None else None


def _explained(missing: Counter[ErrorKey], other: Counter[ErrorKey], data: Any) -> bool:
    """Every error of `missing` lies strictly inside a null that an error of `other` left too.

    Strictly inside: an error at the null itself (a nullable field whose own resolver failed, its
    parent answered) is no sibling anything cancelled; the other side must report it as well."""
    nulls = {null_position(data, key[1]) for key in other if key[1] is not None}
    for key in missing:
        if key[1] is None:
            return False  # a request error: no execution, no timing
        where = null_position(data, key[1])
        if where is None or where == key[1] or where not in nulls:
            return False
    return True


def same(reference: Answer, candidate: Answer) -> str | None:
    """ "same", "timing" (errors differ only inside subtrees nulled on both sides, each null explained
    by the other answer's errors too), or None: the answers differ."""
    if reference.data != candidate.data:
        return None
    if reference.errors == candidate.errors:
        return "same"
    data = orjson.loads(reference.data)
    only_reference, only_candidate = reference.errors - candidate.errors, candidate.errors - reference.errors
    if _explained(only_reference, candidate.errors, data) and _explained(
        only_candidate, reference.errors, data
    ):
        return "timing"
    return None


UNSTABLE = "<differs between two runs of the reference>"


def _differing_leaves(a: Any, b: Any, path: Path, out: set[Path]) -> bool:
    """Add to `out` the paths where `a` and `b` hold different leaves; False when their shapes differ
    (other keys or key order, other list lengths, a value against an object or list)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_differing_leaves(a[k], b[k], (*path, k), out) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            _differing_leaves(x, y, (*path, i), out) for i, (x, y) in enumerate(zip(a, b, strict=True))
        )
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    if a != b:
        out.add(path)
    return True


def unstable_paths(first: bytes, again: bytes) -> set[Path] | None:
    """Where two answers of the reference to the same case hold different leaves (None: their shapes
    differ, nothing to mask)."""
    found: set[Path] = set()
    return found if _differing_leaves(orjson.loads(first), orjson.loads(again), (), found) else None


def masked(answer: Answer, paths: set[Path]) -> Answer:
    """The answer with the leaves at `paths` replaced by one marker (a path it lacks is left alone)."""
    data = orjson.loads(answer.data)
    for path in paths:
        node = data
        for key in path[:-1]:
            node = node[key] if isinstance(node, dict | list) and _has(node, key) else None
        if isinstance(node, dict | list) and path and _has(node, path[-1]):
            node[path[-1]] = UNSTABLE
    return dataclasses.replace(answer, data=orjson.dumps(data))


def _has(node: dict[str, Any] | list[Any], key: Any) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(key, int) and 0 <= key < len(node)


def field_path(path: Path) -> str:
    """A path without its list indices, for counting: `experiment.results.computedAt`."""
    return ".".join(str(p) for p in path if not isinstance(p, int))
