"""The generated corpus: hypothesis-graphql's queries over every root field, given real values and
mutated, per role; written once from a fixed seed (`python -m bench.differential --regenerate`).

Each role's queries come in chunks of CHUNK, each chunk a Hypothesis run of its own seed (SEED, role,
chunk), and every later random choice comes from `random.Random`s seeded by SEED: the first n queries
of a role are the same whether n or 2,000 are made, so the committed slice (corpus.json) is the start
of the full corpus the bench runs. A role's queries select the root fields its policy admits, and one
in seven selects among all of them (forbidden ones included: errors and nulls are compared too).

Dates in the corpus are relative to the day it was made: loading shifts them by the days since, as
the seed anchors its data at the current day.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import graphql
import hypothesis_graphql
from graphql import (
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    specified_rules,
)
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from core.settings import Settings
from core.viewer import Role
from schema.extensions.cost import query_cost
from schema.extensions.documents import alias_rule, depth_rule
from schema.permissions import type_roles
from tests.differential.compare import DEEP
from tests.differential.grafts import Grafts
from tests.differential.ir import Document, Field, Inline, Selection, from_text, json_value, to_text
from tests.differential.mutator import Mutator
from tests.differential.values import Values, scalars
from tests.differential.world import ROLES, World
from tests.schema.calls import FEDERATION, policy_roles

SEED = 20261201
CHUNK = 50
SLICE_PER_ROLE = 100
FULL_PER_ROLE = 2000
# Hypothesis makes many queries of one or two levels; most are left out, so that most of the corpus
# reaches into the graph (a few stay: shallow answers are compared too).
KEEP_SHALLOW = 0.1
CORPUS = Path(__file__).with_name("corpus.json")
LIMITS = Settings(_env_file=None)  # type: ignore[call-arg]
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?=T|\b)")


def root_fields(schema: GraphQLSchema, role: str | None = None) -> list[str]:
    """The query root fields (federation's left out) the role's policy admits; all when role is None."""
    root = schema.query_type
    assert root is not None
    return [
        name
        for name, f in root.fields.items()
        if name not in FEDERATION and (role is None or Role(role) in policy_roles(f))
    ]


def visible_depth(schema: GraphQLSchema, role: str, scope: str, selections: list[Selection]) -> int:
    """Levels of fields the role's policies let through (a field's own, else its type's): what the
    answer can hold at most. A query Hypothesis made deep only where the role may not look is
    shallow for that role."""
    viewer = Role(role)
    best = 0
    for s in selections:
        if isinstance(s, Inline):
            roles = type_roles(s.scope)
            if not roles or viewer in roles:
                best = max(best, visible_depth(schema, role, s.scope, s.selections))
        elif isinstance(s, Field):
            if s.name == "__typename" or _allowed(schema, viewer, scope, s.name):
                best = max(best, 1 + visible_depth(schema, role, s.type, s.selections))
    return best


def _allowed(schema: GraphQLSchema, role: Role, scope: str, name: str) -> bool:
    own = policy_roles(schema.get_type(scope).fields[name])  # type: ignore[union-attr]
    return role in (own or type_roles(scope) or {role})


def reach(schema: GraphQLSchema, role: str, type_name: str, levels: int = DEEP) -> int:
    """How many levels (at most `levels`) the role may see below a field returning `type_name`."""
    t = schema.get_type(type_name)
    if levels == 0 or not isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
        return 0
    viewer = Role(role)
    scopes = [t, *schema.get_possible_types(t)] if isinstance(t, GraphQLInterfaceType) else [t]
    best = 0
    for scope in scopes:
        if type_roles(scope.name) and viewer not in type_roles(scope.name):
            continue
        for name, f in scope.fields.items():
            if _allowed(schema, viewer, scope.name, name):
                best = max(best, 1 + reach(schema, role, get_named_type(f.type).name, levels - 1))
    return best


def _strategy(schema: GraphQLSchema, world: World, role: str) -> st.SearchStrategy[str]:
    """Three in seven queries select one root field the role may call (one whose answer can be three
    levels deep for the role), three several of them, and one in seven selects among every root field."""
    custom = scalars(world)
    fields = root_fields(schema, role)
    root = schema.query_type
    assert root is not None
    deep = [f for f in fields if 1 + reach(schema, role, get_named_type(root.fields[f].type).name) >= DEEP]
    single = st.one_of(
        *(hypothesis_graphql.queries(schema, fields=[f], custom_scalars=custom) for f in deep or fields)
    )
    allowed = hypothesis_graphql.queries(schema, fields=fields, custom_scalars=custom)
    every = hypothesis_graphql.queries(schema, fields=root_fields(schema), custom_scalars=custom)
    return st.integers(0, 6).flatmap(lambda i: single if i < 3 else every if i == 6 else allowed)


def base_queries(schema: GraphQLSchema, world: World, role: str, chunk: int) -> list[str]:
    """One chunk of hypothesis-graphql's queries for the role, in the order Hypothesis made them."""
    found: list[str] = []

    @settings(
        max_examples=CHUNK,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(SEED + 1000 * ROLES.index(role) + chunk)
    @given(_strategy(schema, world, role))
    def collect(text: str) -> None:
        found.append(text)

    collect()
    return found


def refusal(schema: GraphQLSchema, text: str, operation_name: str | None, variables: Any) -> str | None:
    """Why the API would refuse the document before executing it (None: it executes)."""
    try:
        document = graphql.parse(text, max_tokens=LIMITS.graphql_max_tokens)
    except GraphQLError as exc:
        return exc.message
    rules = [*specified_rules, depth_rule(LIMITS.graphql_max_depth), alias_rule(LIMITS.graphql_max_aliases)]
    errors = graphql.validate(schema, document, rules)
    if errors:
        return errors[0].message
    cost = query_cost(schema, document, operation_name=operation_name, variables=variables)
    return f"cost {cost}" if cost > LIMITS.graphql_max_cost else None


def entry(role: str, doc: Document) -> dict[str, Any]:
    op = doc.chosen
    found: dict[str, Any] = {"role": role, "document": to_text(doc)}
    if op.values:
        found["variables"] = {k: json_value(v) for k, v in op.values.items()}
    if doc.operation_name:
        found["operationName"] = doc.operation_name
    return found


def role_corpus(
    schema: GraphQLSchema,
    world: World,
    role: str,
    count: int,
    stats: Counter[str],
    grafts: Grafts | None = None,
) -> list[dict[str, Any]]:
    grafts = grafts or Grafts(schema, world, SEED)
    grafted = grafts.grafted
    graft_rng = random.Random(f"{SEED}:{role}:grafts")
    values = Values(schema, world, role, random.Random(f"{SEED}:{role}:values"))
    mutator = Mutator(schema, values, random.Random(f"{SEED}:{role}:mutator"))
    shallow = random.Random(f"{SEED}:{role}:shallow")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    previous: Document | None = None
    chunk = 0
    while len(out) < count:
        for text in base_queries(schema, world, role, chunk):
            base = values.fix(grafts.deepen(from_text(schema, text), graft_rng))
            base_text = to_text(base)
            if base_text in seen:
                stats["duplicate base queries"] += 1
                continue
            seen.add(base_text)
            if visible_depth(schema, role, "Query", base.operations[0].selections) < DEEP and (
                shallow.random() > KEEP_SHALLOW
            ):
                stats["shallow base queries left out"] += 1
                continue
            if refusal(schema, base_text, None, None) is not None:
                stats["base queries refused (limits)"] += 1
                continue
            mutated = mutator.mutate(base, previous)
            found = entry(role, mutated)
            problem = refusal(schema, found["document"], found.get("operationName"), found.get("variables"))
            if problem is not None:
                stats[f"mutated documents refused: {problem[:80]}"] += 1
                found = entry(role, base)
            out.append(found)
            previous = base
        chunk += 1
    stats["connections given edges"] += grafts.grafted - grafted
    for name, n in mutator.applied.items():
        stats[f"mutation {name}"] += n
    return out[:count]


def generate(schema: GraphQLSchema, world: World, per_role: int) -> tuple[dict[str, Any], Counter[str]]:
    stats: Counter[str] = Counter()
    grafts = Grafts(schema, world, SEED)
    cases = [case for role in ROLES for case in role_corpus(schema, world, role, per_role, stats, grafts)]
    cases += covering(schema, cases)
    stats["root fields the sample missed, called once"] = len(cases) - len(ROLES) * per_role
    corpus = {
        "seed": SEED,
        "per_role": per_role,
        "generated_on": world.today,
        "world": world.fingerprint(),
        "versions": {
            p: importlib.metadata.version(p) for p in ("hypothesis", "hypothesis-graphql", "graphql-core")
        },
        "cases": cases,
    }
    return corpus, stats


def covering(schema: GraphQLSchema, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plain call of each query root field the sample drew for no role, as the first role its
    policy admits: Hypothesis's draws move with every change of the schema, the corpus must still
    reach every field."""
    from tests.schema.calls import call

    drawn: set[str] = set()
    for case in cases:
        for definition in graphql.parse(case["document"]).definitions:
            selections = getattr(getattr(definition, "selection_set", None), "selections", ())
            drawn |= {s.name.value for s in selections if isinstance(s, graphql.FieldNode)}
    root = schema.query_type
    assert root is not None
    added = []
    for name in root_fields(schema):
        admitted = [role for role in ROLES if name in root_fields(schema, role)]
        if name not in drawn and admitted:
            added.append({"role": admitted[0], "document": call("query", name, root.fields[name])})
    return added


def write(corpus: dict[str, Any], path: Path) -> None:
    """One case per line, so a regenerated corpus diffs readably."""
    header = {k: v for k, v in corpus.items() if k != "cases"}
    lines = [json.dumps(case, ensure_ascii=False, sort_keys=True) for case in corpus["cases"]]
    head = json.dumps(header, indent=1, sort_keys=True)[:-2]
    path.write_text(head + ',\n "cases": [\n' + ",\n".join(lines) + "\n ]\n}\n", "utf-8")


def _shift(text: str, days: int) -> str:
    if not days:
        return text

    def moved(match: re.Match[str]) -> str:
        try:
            day = dt.date.fromisoformat(match.group(1))
        except ValueError:
            return match.group(1)
        return (day + dt.timedelta(days=days)).isoformat()

    return _DATE.sub(moved, text)


def load(path: Path, today: str) -> dict[str, Any]:
    """The corpus with its dates moved to `today` (the seed's anchor day)."""
    corpus = json.loads(path.read_text("utf-8"))
    days = (dt.date.fromisoformat(today) - dt.date.fromisoformat(corpus["generated_on"])).days
    for case in corpus["cases"]:
        case["document"] = _shift(case["document"], days)
        if "variables" in case:
            case["variables"] = json.loads(_shift(json.dumps(case["variables"]), days))
    return corpus
