"""Malformed input is refused at the boundary with BAD_USER_INPUT, never INTERNAL: NUL characters in any
string, amounts that are not finite or absurdly large, dates outside 1900-2999, numerals too long to be
a value, ids beyond BIGINT and cursors this API did not issue (schema/scalars.py, schema/nodes.py,
resolvers/pagination.py). Most of these were INTERNAL before; the others pin the neighbouring cases down
(values within the bounds still reach their resolver)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from resolvers.pagination import encode_cursor
from schema import schema
from tests.models import factories as f
from tests.support import codes

ADMIN = Viewer(role=Role.ADMIN, user_id=1)
SERVICE = Viewer(role=Role.SERVICE)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=1)
BEYOND_BIGINT = 2**63


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _refused(result: Any) -> None:
    assert codes(result) == {"BAD_USER_INPUT"}, result.errors


NUL_STRINGS = [
    ("merchant search", "query($v: String) { merchants(filter: {search: $v}) { totalCount } }", ANONYMOUS),
    ("campaign search", "query($v: String) { campaigns(filter: {search: $v}) { totalCount } }", ADMIN),
    ("flag key", "query($v: String!) { flag(key: $v) { key } }", ADMIN),
    (
        "evaluateFlags keys",
        "query($v: String!) { evaluateFlags(context: {}, keys: [$v]) { key } }",
        ANONYMOUS,
    ),
    (
        "login email",
        'mutation($v: String!) { login(input: {email: $v, password: "x"}) { userErrors { code } } }',
        ANONYMOUS,
    ),
    (
        "sign-up email",
        'mutation($v: String!) { signUp(input: {email: $v, password: "long enough pass"}) {'
        " userErrors { code } } }",
        ANONYMOUS,
    ),
    (
        "event segment",
        """mutation($v: String) { recordCampaignEvents(input: {events: [{campaignId: "Q2FtcGFpZ246MQ==",
        type: IMPRESSION, occurredAt: "2024-01-01T00:00:00Z", segment: $v}]}) { userErrors { code } } }""",
        SERVICE,
    ),
]


@pytest.mark.parametrize(
    ("document", "viewer"), [c[1:] for c in NUL_STRINGS], ids=[c[0] for c in NUL_STRINGS]
)
async def test_a_nul_character_in_a_string_is_bad_input(gql: Any, document: str, viewer: Viewer) -> None:
    _refused(await gql(document, {"v": "ann\x00@example.com"}, viewer=viewer))


async def test_a_nul_character_written_in_the_document_is_bad_input(gql: Any) -> None:
    result = await gql('{ merchants(filter: {search: "a\\u0000b"}) { totalCount } }')

    _refused(result)
    assert result.data is None


async def test_nul_characters_anywhere_in_the_variables_are_refused(gql: Any) -> None:
    # Also inside a JSON value, and as a key: PostgreSQL's jsonb holds neither.
    document = "query($v: JSON) { evaluateFlags(context: {attributes: $v}) { key } }"
    for attributes in ({"a": "x\x00"}, {"x\x00": 1}, [[{"deep": ["\x00"]}]]):
        _refused(await gql(document, {"v": attributes}))


RECORD_SPEND = """mutation($amount: Decimal!, $date: Date!) {
  recordCampaignSpend(input: {campaignId: "Q2FtcGFpZ246MQ==", date: $date, amount: $amount}) {
    userErrors { code } } }"""


@pytest.mark.parametrize(
    "amount", ["NaN", "sNaN", "Infinity", "-Infinity", "1e400", "1e-400", "9" * 100_000, 1e308, True]
)
async def test_an_amount_that_is_no_finite_sensible_number_is_bad_input(gql: Any, amount: Any) -> None:
    _refused(await gql(RECORD_SPEND, {"amount": amount, "date": "2024-01-01"}, viewer=SERVICE))


@pytest.mark.parametrize("literal", ["1e400", "9" * 100_000, '"NaN"'])
async def test_an_amount_literal_that_is_no_sensible_number_is_bad_input(gql: Any, literal: str) -> None:
    # The variable's definition goes first: replacing every "$amount" would break the document.
    document = RECORD_SPEND.replace("$amount: Decimal!, ", "").replace("$amount", literal)
    _refused(await gql(document, {"date": "2024-01-01"}, viewer=SERVICE))


async def test_amounts_within_the_bounds_still_reach_the_resolver(db: AsyncSession, gql: Any) -> None:
    campaign = await f.make_campaign(db)
    document = RECORD_SPEND.replace('"Q2FtcGFpZ246MQ=="', f'"{relay.to_base64("Campaign", campaign.id)}"')
    result = await gql(document, {"amount": "12.50", "date": "2024-01-01"}, viewer=SERVICE)
    assert result.errors is None


@pytest.mark.parametrize("float_literal", ["1e400", "-1e400", "1" * 400 + ".0"])
async def test_a_float_literal_beyond_double_is_bad_input(gql: Any, float_literal: str) -> None:
    near = f"{{latitude: {float_literal}, longitude: 0, radiusKm: 1}}"
    document = f"{{ merchants(filter: {{near: {near}}}) {{ totalCount }} }}"
    _refused(await gql(document))


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"])
async def test_a_date_outside_the_years_1900_to_2999_is_bad_input(gql: Any, date: str) -> None:
    document = "query($d: Date!) { platformOverview(range: {start: $d, end: $d}) { __typename } }"
    _refused(await gql(document, {"d": date}, viewer=ADMIN))


@pytest.mark.parametrize(
    "moment",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59", "2024-01-01T25:00:00Z"],
)
async def test_an_instant_that_cannot_be_represented_is_bad_input(gql: Any, moment: str) -> None:
    document = "query($t: DateTime) { auditLog(filter: {from: $t}) { totalCount } }"
    _refused(await gql(document, {"t": moment}, viewer=ADMIN))


@pytest.mark.parametrize(
    ("document", "type_name", "viewer"),
    [
        ("query($id: ID!) { node(id: $id) { id } }", "Merchant", ANONYMOUS),
        ("query($id: ID!) { nodes(ids: [$id]) { id } }", "Merchant", ANONYMOUS),
        ("query($id: ID!) { user(id: $id) { id } }", "User", ADMIN),
        ("query($id: ID!) { campaign(id: $id) { id } }", "Campaign", ADMIN),
        ("query($id: ID!) { experiment(id: $id) { id } }", "Experiment", ADMIN),
        ("query($id: ID) { experiments(filter: {campaignId: $id}) { totalCount } }", "Campaign", ADMIN),
    ],
    ids=["node", "nodes", "user", "campaign", "experiment", "experiments filter"],
)
@pytest.mark.parametrize("pk", [BEYOND_BIGINT, 10**30, "9" * 5000], ids=["2^63", "10^30", "5000 digits"])
async def test_an_id_beyond_bigint_is_bad_input_on_every_read_path(
    gql: Any, document: str, type_name: str, viewer: Viewer, pk: Any
) -> None:
    _refused(await gql(document, {"id": relay.to_base64(type_name, pk)}, viewer=viewer))


CAMPAIGNS_AFTER = "query($after: String) { campaigns(after: $after) { totalCount } }"


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(["a name", 1]),  # created_at is sorted: a name is another list's cursor
        _cursor([1.5, 1]),
        _cursor(["2024-01-01T00:00:00+00:00", 1]),  # a time, but not as this API writes one
        _cursor([{"k": "n", "t": "NaN"}, 1]),
        _cursor([{"k": "zz", "t": "1"}, 1]),
        _cursor([{"k": "dt", "t": "2024-01-01T00:00:00+00:00"}, BEYOND_BIGINT]),
        _cursor([{"k": "dt", "t": "2024-01-01T00:00:00+00:00"}, True]),
        _cursor([{"k": "dt", "t": "2024-01-01T00:00:00+00:00"}, 1, 2]),
        encode_cursor("x", 1)[:-3],  # truncated
        "!!!not base64!!!",
    ],
)
async def test_a_cursor_this_api_did_not_issue_is_bad_input(gql: Any, cursor: str) -> None:
    result = await gql(CAMPAIGNS_AFTER, {"after": cursor}, viewer=ADMIN)

    _refused(result)
    assert result.errors[0].message == "The cursor is not one this API issued."


async def test_a_cursor_of_the_same_list_still_pages(db: AsyncSession, gql: Any) -> None:
    for _ in range(3):
        await f.make_campaign(db)
    first = await gql("{ campaigns(first: 2) { pageInfo { endCursor } } }", viewer=ADMIN)
    cursor = first.data["campaigns"]["pageInfo"]["endCursor"]

    result = await gql(CAMPAIGNS_AFTER, {"after": cursor}, viewer=ADMIN)

    assert result.errors is None
    assert result.data["campaigns"]["totalCount"] >= 3


async def test_an_integer_literal_too_long_for_an_id_argument_is_bad_input(gql: Any) -> None:
    # An ID literal may be written as an integer: 100,000 digits never reach int().
    _refused(await gql("{ node(id: %s) { id } }" % ("9" * 100_000)))


def test_overriding_the_scalars_kept_their_names_and_descriptions() -> None:
    sdl = schema.as_str()
    for line in ('"""Decimal (fixed-point)"""\nscalar Decimal', '"""Date (isoformat)"""\nscalar Date'):
        assert line in sdl
    assert '"""Date with time (isoformat)"""\nscalar DateTime' in sdl
