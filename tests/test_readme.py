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


DOCS = ("README.md", "ARCHITECTURE.md")
PATH = re.compile(r"\b(?:[a-z_]+/)+[a-z_]+\.(?:py|json|mjs|md|graphql)\b")


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_the_docs_name_exists(doc: str) -> None:
    named = set(PATH.findall((PROJECT_ROOT / doc).read_text("utf-8")))
    assert named, f"{doc} names no file"
    assert sorted(p for p in named if not (PROJECT_ROOT / p).exists()) == []


def test_the_readme_links_the_architecture_in_the_repository() -> None:
    text = (PROJECT_ROOT / "README.md").read_text("utf-8")
    assert "(ARCHITECTURE.md)" in text
    assert "../shared" not in text
