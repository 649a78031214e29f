"""The parse and validation cache is bounded by the bytes it holds, not only by its entries.

Before, 200 distinct 950 KB documents grew a worker to 246 MB: Strawberry's caches keep 128
documents each, whatever their size.
"""

from __future__ import annotations

from graphql import parse, validate
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from schema import schema
from schema.extensions.caches import DocumentCache, document_cache, document_weight
from tests.limits.support import run

KB = 1024


def _document(i: int, padding: int) -> str:
    # Distinct documents of about `padding` bytes: a comment is no token, so the token limit passes.
    return f"query Q{i} {{ __typename }} # {'x' * padding}"


def test_the_held_bytes_never_exceed_the_budget() -> None:
    # given a cache of 1 MB keeping documents of up to 300 KB
    cache = DocumentCache(max_bytes=1024 * KB, max_document_bytes=300 * KB)
    # when 200 distinct documents of 50 KB are parsed and validated through it
    for i in range(200):
        text = _document(i, 50 * KB)
        document = cache.parse(text, {}, parse)
        assert cache.validate(text, {}, schema._schema, document, (), validate) == []
        # then after each one it holds at most its budget
        assert cache.held_bytes <= cache.max_bytes
    # and it keeps the most recent ones, as many as fit
    assert 5 <= len(cache) < 200
    assert cache.held_bytes > cache.max_bytes - 100 * KB


def test_a_document_over_the_per_document_limit_is_not_kept() -> None:
    cache = DocumentCache(max_bytes=1024 * KB, max_document_bytes=300 * KB)
    text = _document(0, 300 * KB)
    first, second = cache.parse(text, {}, parse), cache.parse(text, {}, parse)
    assert first is not second
    assert len(cache) == 0 and cache.held_bytes == 0


def test_a_kept_document_is_parsed_and_validated_once() -> None:
    cache = DocumentCache(max_bytes=1024 * KB, max_document_bytes=300 * KB)
    text = "{ __typename }"
    calls: list[object] = []

    def counted_validate(*args: object) -> list[object]:
        calls.append(args)
        return []

    document = cache.parse(text, {}, parse)
    assert cache.parse(text, {}, parse) is document
    for _ in range(3):
        cache.validate(text, {}, schema._schema, document, (), counted_validate)  # type: ignore[arg-type]
    assert len(calls) == 1
    # the weight counts the text and every token
    assert cache.held_bytes > document_weight(text, document)


def test_the_weight_counts_what_a_big_comment_keeps_alive() -> None:
    text = _document(0, 100 * KB)
    # the text, and the comment token's own copy of it
    assert document_weight(text, parse(text)) > 2 * 100 * KB


async def test_documents_through_the_schema_stay_within_the_budget(
    db: AsyncSession, settings: Settings
) -> None:
    # given the worker's cache with a budget of 2 MB, keeping documents of up to 64 KB of text
    small = settings.model_copy(update={"graphql_document_cache_bytes": 2 * 1024 * KB})
    cache = document_cache(
        small.graphql_document_cache_bytes, small.graphql_document_cache_max_document_bytes
    )
    # when distinct documents of 950 KB (lexing one takes a third of a second) and of 30 KB are executed
    for i in range(100):
        padding = 950 * KB if i % 10 == 0 else 30 * KB
        assert (await run(_document(i, padding), db=db, settings=small)).errors is None
        # then the cache never holds more than its budget
        assert cache.held_bytes <= small.graphql_document_cache_bytes
    # and it kept none of the big ones, and as many of the recent small ones as fit
    assert 10 <= len(cache) < 90
    assert cache.held_bytes < len(cache) * 100 * KB
