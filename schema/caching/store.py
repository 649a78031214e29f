"""The response cache's Redis store: it lives in core/response_store.py, so that a job worker, which
cannot import schema/, invalidates entries as a server does. Named here for the cache's readers."""

from core.response_store import MISSED, Entry, Lookup, ResponseStore

__all__ = ["MISSED", "Entry", "Lookup", "ResponseStore"]
