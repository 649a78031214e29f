"""Schema extensions, one job each, in the order schema/__init__.py lists them.

First, so its exit runs last: read_snapshot.py (ends the operation's read snapshot, however it ends).
Before execution: documents.py (parse cache, token, depth and alias limits, introspection switch),
then Strawberry's ValidationCache; rate_limit.py (the request's cost, from cost.py, against the limit
and the caller's token bucket). Around execution: sql_stats.py (statements per response),
idempotency.py (whole-request replay, and storing what completed keys answered), errors.py (every
error coded; listed last so its exit runs first and the others see coded errors).
"""
