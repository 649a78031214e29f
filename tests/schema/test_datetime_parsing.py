"""DateTime values are parsed by the standard library's ISO parser first: every form gives what
dateutil's parser (the one before) gives, and what it refused stays refused."""

from __future__ import annotations

import dateutil.parser
import pytest
from graphql import GraphQLError

from schema.scalars import parse_datetime

FORMS = [
    "2026-12-04T01:02:03Z",
    "2026-12-04T01:02:03.123456+01:00",
    "2026-12-04T01:02:03.1234567Z",
    "2026-12-04",
    "2026-12-04T24:00:00",
    "2026-W49-5T10:00",
    "2026-338",
    "20261204T010203Z",
    "2026-12-04T01",
    "2026-12-04 01:02:03",
    "2026-12-04T01:02:03,5Z",
    "2026-12-04T01:02:03+0530",
    "2026-12-04T01:02:03-05",
    "2026-12",
]
REFUSED = [
    "2026-12-04T01:02:03.5+01:00:30",
    "2026-13-01",
    "2026-12-04T25:00",
    "04/12/2026",
    "2026-12-04T01:02:03+25:00",
]


@pytest.mark.parametrize("text", FORMS)
def test_each_form_parses_as_dateutil_parses_it(text: str) -> None:
    assert parse_datetime(text) == dateutil.parser.isoparse(text)


@pytest.mark.parametrize("text", REFUSED)
def test_what_dateutil_refuses_is_refused_with_a_code(text: str) -> None:
    with pytest.raises(ValueError):
        dateutil.parser.isoparse(text)
    with pytest.raises(GraphQLError) as refused:
        parse_datetime(text)
    assert refused.value.extensions == {"code": "BAD_USER_INPUT"}
