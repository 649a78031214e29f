"""The response cache: hints in the schema (hints.py), keys per viewer (keys.py), entries and
invalidation in Redis (store.py), and the cache a process keeps (cache.py)."""
