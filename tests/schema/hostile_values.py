"""The values an attacker would try, by kind of argument leaf: fixed corner cases, and what Hypothesis
generates. A `Literal` is written into the document as is (a numeral JSON cannot carry)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hypothesis import strategies as st
from strawberry import relay

from tests.schema.hostile import NODE_TYPES, Literal, Target, node_type_for

# Long enough to be over any length limit; numerals get 100,000 digits (refused before execution, so
# they cost one request per type), texts get less, as every argument that takes them executes them.
HUGE = 100_000
LONG_TEXT = 20_000


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return {"deep": value}


def _cursor(value: Any) -> str:
    return _b64(orjson.dumps(value))


STRINGS: list[Any] = [
    "\x00",
    "ann\x00@example.com",
    "x" * LONG_TEXT,
    "word " * (LONG_TEXT // 5),
    "",
    " \t\n",
    # right-to-left override, zero width space, byte order mark, combining marks, astral and last code points
    "\u202e\u200b\ufeff e\u0301\u0308\u20dd \U0001f4a9\U0010ffff\uffff",
    "' OR 1=1 -- %s%n%x ${jndi:ldap://x} {{7*7}}",
    "!@#$%^&*():|<>?-+~ & | ! <-> :*",  # every operator of websearch_to_tsquery and to_tsquery
]
CURSORS: list[Any] = [
    _cursor(["x", 1]),  # a name where a time is sorted
    _cursor([1.5, 1]),
    _cursor(["2024-01-01T00:00:00+00:00", 1]),
    _cursor([{"k": "n", "t": "NaN"}, 1]),
    _cursor([{"k": "dt", "t": "9999-12-31T23:59:59"}, 1]),
    _cursor([{"k": "d", "t": "x"}, 1]),
    _cursor([{"k": "zz", "t": "1"}, 1]),
    _cursor([None, 2**63]),
    _cursor([None, -1]),
    _cursor(["a\x00", 1]),
    _cursor([1, 2, 3]),
    _cursor({"a": 1}),
    _cursor("x"),
    _cursor([[1], True]),
    _cursor(["x", 1])[:-3],  # truncated
    "!!!not base64!!!",
    _b64(b"\xff\xfe\x00garbage"),
    "A" * 4096,
]


def ids(type_name: str) -> list[Any]:
    """Ids of the node type an argument expects, that no row can have, and ids that are no ids."""
    return [
        relay.to_base64(type_name, 2**63),
        relay.to_base64(type_name, 10**30),
        relay.to_base64(type_name, "9" * 5000),
        relay.to_base64(type_name, -1),
        relay.to_base64(type_name, "1\x00"),
        relay.to_base64("NoSuchType", 1),
        relay.to_base64("Transaction" if type_name != "Transaction" else "User", 1),
        relay.to_base64(type_name, 1)[:-2],
        "not-base64!",
        "",
        "\x00",
        "9" * HUGE,
        12345,
    ]


INTS: list[Any] = [2**31, -(2**31) - 1, 2**63, -1, 0, Literal("9" * HUGE), Literal("-" + "9" * 50), 1.5]
FLOATS: list[Any] = [
    Literal("1e400"),
    Literal("-1e400"),
    Literal("1" * 400 + ".0"),
    Literal("9" * HUGE),
    1e308,
    -1e308,
    5e-324,
    -0.0,
    2**63,
]
DECIMALS: list[Any] = [
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "1e-400",
    "9" * HUGE,
    "-0",
    "0.001",
    "99999999999999999999.99",
    "1_000",
    Literal("1e400"),
    Literal("9" * HUGE),
    1e308,
    "",
]
DATES: list[Any] = [
    "0001-01-01",
    "9999-12-31",
    "1899-12-31",
    "3000-01-01",
    "0000-01-01",
    "10000-01-01",
    "2024-02-30",
    "2024-W01-1",
    "2024-01-01T00:00:00",
    "x" * HUGE,
    "",
]
DATETIMES: list[Any] = [
    "2070-01-01T00:00:00",  # no UTC offset
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00",
    "10000-01-01T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-01-01T25:00:00Z",
    "2024-01-01T00:00:00+99:00",
    "2024-01-01",
    "x" * HUGE,
]
JSONS: list[Any] = [
    {"a": "\x00"},
    {"\x00": 1},
    _nested(200),
    ["x" * 1000] * 50,
    {"n": 1e308, "m": -(2**63)},
    "just a string",
]
CORNERS: dict[str, list[Any]] = {
    "String": STRINGS,
    "Int": INTS,
    "Float": FLOATS,
    "Decimal": DECIMALS,
    "Date": DATES,
    "DateTime": DATETIMES,
    "JSON": JSONS,
}

_finite = st.floats(allow_nan=False, allow_infinity=False)
GENERATED: dict[str, st.SearchStrategy[Any]] = {
    "String": st.text(st.characters(codec="utf-8"), max_size=300),
    "ID": st.builds(
        relay.to_base64, st.sampled_from(NODE_TYPES), st.integers(min_value=-(2**70), max_value=2**70)
    )
    | st.text(max_size=40),
    "Int": st.integers(min_value=-(2**40), max_value=2**40),
    "Float": _finite,
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False).map(str) | st.text(max_size=30),
    "Date": st.dates().map(lambda d: d.isoformat()) | st.text(max_size=20),
    "DateTime": st.datetimes().map(lambda d: d.isoformat()) | st.text(max_size=30),
    "JSON": st.recursive(
        st.none() | st.booleans() | _finite | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    ),
}


def corners(target: Target) -> list[Any]:
    """The fixed hostile values for the target's leaf (cursors as well, for `after` and `before`)."""
    if target.leaf.name == "ID":
        values = ids(
            node_type_for(target.path[-1] if target.path[-1] != "[]" else target.path[-2], target.field_name)
        )
    else:
        values = list(CORNERS.get(target.leaf.name, STRINGS))
    if target.path[-1] in ("after", "before"):
        values = CURSORS + values
    return values


def generated(target: Target) -> st.SearchStrategy[Any]:
    strategy = GENERATED.get(target.leaf.name, GENERATED["String"])
    if target.path[-1] in ("after", "before"):
        strategy = strategy | st.sampled_from(CURSORS)
    return strategy
