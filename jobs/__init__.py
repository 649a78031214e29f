"""The background jobs' tasks, one module per kind of work (maintenance.py: the periodic upkeep that
replaced the cron list). A layer of its own above resolvers/: tasks call business rules, and nothing
below imports a task; writes defer jobs by name (core/jobs/enqueue.py). tests/test_layers.py knows it.
"""

from __future__ import annotations

import procrastinate

from core.settings import Settings
from jobs import auth, maintenance, notifications


def register(app: procrastinate.App, settings: Settings) -> procrastinate.App:
    """Register every task (and its schedule) on `app`."""
    auth.register(app, settings)
    maintenance.register(app, settings)
    notifications.register(app, settings)
    return app
