"""Process-wide logging: readable lines in development, one JSON object per line in production.

Every line carries the request id of the request that logged it, and personal data and secrets are
masked before any handler sees them (emails keep their first letter and domain, phones, bearer
tokens, JWTs, API keys and password fields are replaced).
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import orjson

from core.settings import Settings

# Set by the HTTP middleware for the duration of a request (asyncio tasks inherit it).
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

REDACTED = "[redacted]"
# Loggers that uvicorn gives handlers of their own: the redaction must reach them too.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_SECRET_FIELD = re.compile(
    r"""(?ix)
    (["']?\b(?:password|passwd|new_?password|current_?password|secret|api[_-]?key|x-api-key
      |access_?token|refresh_?token|token|authorization)\b["']?\s*[:=]\s*)
    (?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|(?:bearer\s+)?[^"'\s,;&}\]]+)
    """
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b")
# E.164 (+ then 8-15 digits, separators allowed) and North American (555) 123-4567 forms; bare digit
# runs are left alone, since ids, amounts and timestamps look alike.
_PHONE = re.compile(r"(?<![\w+])\+\d(?:[\s().-]?\d){7,14}\b|\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
# Access-log lines carry query strings (GET variables) as the client percent-encoded them.
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


def redact(text: str) -> str:
    """Mask secrets and personal data in one log message."""
    if _PERCENT_ENCODED.search(text):
        text = unquote_plus(text)
    text = _SECRET_FIELD.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _BEARER.sub(f"Bearer {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites the record in place (message, traceback), so every later handler gets the masked text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "redacted", False):
            record.msg, record.args = redact(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if getattr(record, "request_id", None) is None:
                record.request_id = request_id_var.get()
            record.redacted = True
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        return f"{line} [request {request_id}]" if request_id else line


_FILTER = RedactingFilter()


def install_redaction() -> None:
    """Put the redacting filter on every handler that exists now (root's and uvicorn's); idempotent."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in SERVER_LOGGERS)]
    for logger in loggers:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.is_production:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    install_redaction()
