"""schema.graphql at the repository root is the code's schema, exactly."""

from __future__ import annotations

from core.settings import PROJECT_ROOT
from schema import schema

SDL_FILE = PROJECT_ROOT / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    committed = SDL_FILE.read_text(encoding="utf-8")
    assert committed == schema.as_str() + "\n", (
        "schema.graphql is stale: run `python server.py export-schema`"
    )
