"""The README's example queries are valid against the schema, so the docs cannot drift from it."""

from __future__ import annotations

import re

import pytest
from graphql import parse, validate

from core.settings import PROJECT_ROOT
from schema import schema

EXAMPLES = re.findall(r"```graphql\n(.*?)```", (PROJECT_ROOT / "README.md").read_text("utf-8"), re.S)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("document", EXAMPLES, ids=[f"example-{i + 1}" for i in range(len(EXAMPLES))])
def test_readme_example_validates(document: str) -> None:
    assert [e.message for e in validate(schema._schema, parse(document))] == []
