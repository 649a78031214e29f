"""The process's long-lived services, made once by server.py's lifespan and reached by every request
through `RequestContext.services`.

Core cannot name the classes of the layers above it, so those members are typed by what core needs
of them (nothing) and each layer reads its own with a typed accessor (e.g. resolvers/flags/
snapshot.py). A context made without services (a test on its own session, a command) gets
`Services()`: nothing is cached, every change goes unheard, and everything still works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.change_feed import ChangeFeed
from core.changes import ChangeDispatcher


@dataclass
class Services:
    # Told of every committed write (core/changes.py).
    changes: ChangeDispatcher = field(default_factory=ChangeDispatcher)
    # The in-process flag snapshot (resolvers/flags/), when the lifespan started one.
    flags: Any = None
    # The Redis cache of users' recommended merchants (resolvers/ml/), when enabled.
    recommendations: Any = None
    # The Redis response cache (schema/), when enabled.
    responses: Any = None
    # Every worker's commits, heard through Redis pub/sub: what subscriptions wait on (core/live.py).
    live: ChangeFeed | None = None
