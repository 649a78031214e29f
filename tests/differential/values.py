"""Argument values that mean something in the seeded state: Hypothesis's scalars, then real ones by name.

hypothesis-graphql draws values by scalar type only, and random ids, cursors and strings mostly fail
coercion or find nothing. `scalars()` gives it real global ids, bounded `first`, words and dates of the
seed; `Values.fix` then rewrites each argument by what it names: `campaign(id:)` a Campaign of the
viewer's, `merchantId` a Merchant, `flag(key:)` a real key, date ranges in order, `near` around a real
merchant. Cursors are dropped (a made-up cursor is a BAD_USER_INPUT), but not always.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    get_named_type,
)
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from strawberry import relay

from core.viewer import Role
from schema.permissions import type_roles
from tests.differential.ir import Document, Enum, Field, Inline, Selection, depth
from tests.differential.world import World

# Root fields whose `id` names one type.
ROOT_ID_TARGETS = {"user": "User", "campaign": "Campaign", "experiment": "Experiment", "merchant": "Merchant"}
# Input fields `<prefix>Id` / `<prefix>Ids` and the type they name.
INPUT_ID_PREFIXES = {
    "merchant": "Merchant",
    "campaign": "Campaign",
    "category": "MerchantCategory",
    "actorUser": "User",
    "user": "User",
    "experiment": "Experiment",
    "account": "Account",
}
DATE_WINDOW_DAYS = 100
# How often an argument the API refuses is kept (a made-up cursor, `first` with `last`, sorting by
# distance without `near`): refusals are compared too, but an error in a non-null root field (`merchants`)
# nulls the whole answer.
KEEP_REFUSED = 0.04
# How often `node(id:)` gets an id of any type, visible to the role or not (and `nodes(ids:)` one such
# id: a type the role may not see fails the whole non-null list).
WILD_NODE = 0.15
WILD_NODES = 0.06
_DROP = object()


def global_ids(world: World) -> list[str]:
    return [relay.to_base64(name, pk) for name, pks in sorted(world.ids.items()) for pk in pks]


def scalars(world: World) -> dict[str, st.SearchStrategy[Any]]:
    """hypothesis-graphql's custom scalar strategies (value nodes), built-in scalars included."""
    today = dt.date.fromisoformat(world.today)
    first = today - dt.timedelta(days=DATE_WINDOW_DAYS)
    vocabulary = sorted({*world.words, *world.cities, *world.flag_keys[:10], "", "x"})
    instants = st.datetimes(
        min_value=dt.datetime.combine(first, dt.time()), max_value=dt.datetime.combine(today, dt.time())
    )
    return {
        "ID": st.sampled_from(global_ids(world)).map(nodes.String),
        "Int": st.integers(1, 10).map(nodes.Int),
        "Float": st.integers(-500, 500).map(lambda n: nodes.Float(n / 100)),
        "String": st.sampled_from(vocabulary).map(nodes.String),
        "Date": st.dates(first, today).map(lambda d: nodes.String(d.isoformat())),
        "DateTime": instants.map(lambda t: nodes.String(t.replace(microsecond=0).isoformat() + "+00:00")),
        "Decimal": st.sampled_from(["0", "1.50", "25", "100.00", "999.99"]).map(nodes.String),
        "JSON": st.just(nodes.Object([])),
    }


def _unwrap(t: GraphQLInputType) -> GraphQLInputType:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


class Values:
    """Real values for one role's queries, drawn from `rng`."""

    def __init__(self, schema: GraphQLSchema, world: World, role: str, rng: random.Random) -> None:
        self.schema = schema
        self.world = world
        self.role = role
        self.rng = rng

    # ------------------------------------------------------------ ids

    def pk(self, type_name: str) -> int:
        own = self.world.own.get(self.role, {}).get(type_name)
        if own and self.rng.random() < 0.7:
            return self.rng.choice(own)
        return self.rng.choice(self.world.ids[type_name])

    def global_id(self, type_name: str | None) -> str:
        if type_name is None:
            preferred = list(self.world.own.get(self.role, {})) or ["Merchant"]
            pool = sorted(self.world.ids) if self.rng.random() < 0.4 else preferred
            type_name = self.rng.choice(pool)
        return relay.to_base64(type_name, self.pk(type_name))

    def other_id(self, value: Any) -> Any:
        """Another id of the same type (for a second alias of the same field)."""
        if isinstance(value, str):
            try:
                type_name = relay.from_base64(value)[0]
            except ValueError:
                return value
            return self.global_id(type_name) if type_name in self.world.ids else value
        return value

    # ------------------------------------------------------------ the walk

    def fix(self, doc: Document) -> Document:
        root = self.schema.query_type
        assert root is not None
        for op in doc.operations:
            self._selections(root.name, op.selections, top=True)
        return doc

    def _selections(self, scope: str, selections: list[Selection], top: bool = False) -> None:
        parent = self.schema.get_type(scope)
        for s in selections:
            if isinstance(s, Inline):
                self._selections(s.scope, s.selections)
            elif isinstance(s, Field):
                if s.args and s.name != "__typename":
                    definition = parent.fields[s.name]  # type: ignore[union-attr]
                    self._arguments(s, {n: a.type for n, a in definition.args.items()}, top)
                self._selections(s.type, s.selections)

    def _node_type(self, f: Field, wild: float = WILD_NODE) -> str | None:
        """A type `node(id:)` / `nodes(ids:)` selects fields of and the role may see, mostly."""
        if self.rng.random() < wild:
            return None
        branches = {
            s.on: depth(s.selections)
            for s in f.selections
            if isinstance(s, Inline) and s.on in self.world.ids
        }
        visible = [t for t in branches if Role(self.role) in type_roles(t)]
        pool = visible or list(branches)
        if not pool:
            return None
        deepest = max(branches[t] for t in pool)
        if self.rng.random() < 0.7:
            pool = [t for t in pool if branches[t] == deepest]
        return self.rng.choice(pool)

    def _arguments(self, f: Field, types: dict[str, GraphQLInputType], top: bool) -> None:
        if top and f.name == "node" and isinstance(f.args.get("id"), str):
            f.args["id"] = self.global_id(self._node_type(f))
            return
        if top and f.name == "nodes" and isinstance(f.args.get("ids"), list):
            # One id of any type in a list fails the whole non-null list when the type is forbidden:
            # at most one such id, in a few lists.
            n = min(len(f.args["ids"]) or self.rng.randint(1, 4), 6)
            ids = [self.global_id(self._node_type(f, wild=0)) for _ in range(n)]
            if self.rng.random() < WILD_NODES:
                ids[self.rng.randrange(n)] = self.global_id(None)
            f.args["ids"] = ids
            return
        fixed: dict[str, Any] = {}
        for name, value in f.args.items():
            new = self._value(value, types[name], name, f.name if top else None)
            if new is not _DROP:
                fixed[name] = new
        if "first" in fixed and "last" in fixed and self.rng.random() > KEEP_REFUSED:
            del fixed["last"]
        near = isinstance(fixed.get("filter"), dict) and fixed["filter"].get("near") is not None
        if fixed.get("sort") == Enum("DISTANCE") and not near and self.rng.random() > KEEP_REFUSED:
            fixed["sort"] = Enum("NAME")
        f.args = fixed

    def _value(self, value: Any, t: GraphQLInputType, name: str, root_field: str | None) -> Any:
        if value is None:
            return None
        t = _unwrap(t)
        if isinstance(t, GraphQLList):
            if name == "keys":
                return self.rng.sample(
                    self.world.flag_keys, k=min(len(self.world.flag_keys), len(value) or 1)
                )
            return [self._value(v, t.of_type, name, root_field) for v in value]
        if isinstance(t, GraphQLInputObjectType):
            return self._object(value, t)
        type_name = get_named_type(t).name
        if type_name == "ID":
            return self.global_id(self._id_target(name, root_field))
        if type_name == "String":
            return self._string(value, name, root_field)
        if type_name == "Int" and name == "entityId":
            return self.pk(self.rng.choice(["Campaign", "Merchant", "User"]))
        return value

    def _id_target(self, name: str, root_field: str | None) -> str | None:
        if name == "id" and root_field in ROOT_ID_TARGETS:
            return ROOT_ID_TARGETS[root_field]
        for suffix in ("Ids", "Id"):
            if name.endswith(suffix) and name[: -len(suffix)] in INPUT_ID_PREFIXES:
                return INPUT_ID_PREFIXES[name[: -len(suffix)]]
        return None  # node(id:), nodes(ids:): any type

    def _string(self, value: Any, name: str, root_field: str | None) -> Any:
        w, rng = self.world, self.rng
        if name in ("after", "before"):
            return value if rng.random() < KEEP_REFUSED else _DROP
        choices = {
            "key": w.flag_keys if root_field == "flag" else None,
            "search": w.words,
            "city": w.cities,
            "entityType": w.audit["entity_type"],
            "action": w.audit["action"],
            "segment": w.segments,
        }.get(name)
        if choices and rng.random() < 0.9:
            return rng.choice(choices)
        if name == "sessionId":
            return f"session-{rng.randrange(1000)}"
        return value

    def _object(self, value: dict[str, Any], t: GraphQLInputObjectType) -> dict[str, Any]:
        out = {}
        for key, item in value.items():
            new = self._value(item, t.fields[key].type, key, None)
            if new is not _DROP:
                out[key] = new
        self._in_order(out, "start", "end")
        self._in_order(out, "from", "to")
        self._in_order(out, "activeFrom", "activeTo")
        if t.name == "NearInput" and self.world.places:
            latitude, longitude = self.rng.choice(self.world.places)
            out.update(
                latitude=round(latitude, 3),
                longitude=round(longitude, 3),
                radiusKm=self.rng.choice([2.0, 10.0, 50.0]),
            )
        return out

    @staticmethod
    def _in_order(value: dict[str, Any], low: str, high: str) -> None:
        a, b = value.get(low), value.get(high)
        if isinstance(a, str) and isinstance(b, str) and a > b:
            value[low], value[high] = b, a
