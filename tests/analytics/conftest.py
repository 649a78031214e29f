"""Fixtures of the analytics tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from core.settings import Settings
from core.viewer import Viewer


@pytest.fixture
def context_for(db: AsyncSession, settings: Settings) -> Callable[[Viewer], RequestContext]:
    """A request context reading through the test's session, as a loader sees it."""

    def make(viewer: Viewer) -> RequestContext:
        return RequestContext(
            request=None, settings=settings, sessionmaker=None, redis=None, viewer=viewer, session=db
        )

    return make
