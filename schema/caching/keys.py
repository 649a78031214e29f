"""Whose answer an entry is: the operation (document, name, variables) and the viewer's scope.

An answer depends on the viewer only through the field policies (by role) and row visibility (by
role, and by the merchant of merchant staff, or the person's own id where rows are their own).
PUBLIC answers are therefore shared by everyone of one role and merchant; PRIVATE answers are one
person's (or one API key's), and an anonymous viewer has no PRIVATE answer to keep.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from core.policies import PERSONAL_ROWS
from core.viewer import Viewer
from schema.caching.hints import CacheScope


def scope_of(viewer: Viewer, scope: CacheScope) -> str | None:
    """The viewer's part of the key; None when the answer may not be kept for this viewer."""
    parts = [viewer.role.value, f"m{viewer.merchant_id or ''}"]
    if scope is CacheScope.PRIVATE or viewer.role in PERSONAL_ROWS:
        if viewer.user_id is None and viewer.api_key_id is None:
            return None
        parts.append(f"u{viewer.user_id or ''}k{viewer.api_key_id or ''}")
    return ":".join(parts)


def entry_key(query: str, operation_name: str | None, variables: dict[str, Any] | None, scope: str) -> str:
    variables_json = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256()
    for part in (query.encode(), (operation_name or "").encode(), variables_json, scope.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
