"""Limits on the free text a read accepts (searches, exact-match filters, keys), checked before any SQL.

PostgreSQL's `websearch_to_tsquery` grows super-linearly with its input: a 480 KB search held a
backend for the whole statement timeout and 200 KB failed with `stack depth limit exceeded`. No
real search needs more than a few words, and an exact-match filter longer than its column can match
nothing, so text past these limits is the caller's mistake (BAD_USER_INPUT naming the limit).
PostgreSQL text cannot hold NUL, so a NUL byte is refused here too rather than by the driver.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import BadUserInput

# A search is a few words of a name or a city; 10 words of 200 characters is far beyond any real one.
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 10
# Exact-match filters (a city, an audit action or entity type) compare with a column of at most
# 100 characters (String(100), String(64)): anything longer matches nothing.
MAX_FILTER_CHARS = 100
# Flag keys are String(100).
MAX_KEY_CHARS = 100
NUL = "\x00"


def _refuse_nul(value: str, field: str) -> None:
    if NUL in value:
        raise BadUserInput(f"`{field}` must not contain NUL characters.", field=field)


def _refuse_long(value: str, field: str, max_chars: int) -> None:
    if len(value) > max_chars:
        raise BadUserInput(
            f"`{field}` may be at most {max_chars} characters (it has {len(value):,}).", field=field
        )


def search_words(value: str | None, *, field: str) -> str | None:
    """The search text stripped, or None when blank; refused past the character or word limit."""
    if value is None:
        return None
    _refuse_long(value, field, MAX_SEARCH_CHARS)
    _refuse_nul(value, field)
    words = value.split()
    if len(words) > MAX_SEARCH_WORDS:
        raise BadUserInput(f"`{field}` may have at most {MAX_SEARCH_WORDS} words.", field=field)
    return " ".join(words) or None


def filter_text(value: str | None, *, field: str, max_chars: int = MAX_FILTER_CHARS) -> str | None:
    """An exact-match filter's text as given; refused past `max_chars` or with a NUL."""
    if value is None:
        return None
    _refuse_long(value, field, max_chars)
    _refuse_nul(value, field)
    return value


def keys_list(values: Sequence[str], *, field: str, max_chars: int = MAX_KEY_CHARS) -> list[str]:
    """Keys as given; refused when any is past `max_chars` or holds a NUL (the count is the caller's)."""
    for value in values:
        filter_text(value, field=field, max_chars=max_chars)
    return list(values)
