"""Process-wide logging: readable lines in development, one JSON object per line in production.

Every line carries the request id of the request that logged it (and, while tracing runs, its
trace id), and personal data and secrets are
masked before any handler sees them (emails keep their first letter and domain, phones, bearer
tokens, JWTs, API keys and password fields are replaced, block strings included; the values of a
query string's GraphQL variables are all replaced, whatever their names). A message is one line of
printable text of bounded length: control characters (NUL, newlines) are escaped and a long message
(a client's 900 KB operationName) is cut, so no client can forge lines or flood the log.
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
from core.tracing import current_trace_id

# Set by the HTTP middleware for the duration of a request (asyncio tasks inherit it).
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

REDACTED = "[redacted]"
# Loggers that uvicorn gives handlers of their own: the redaction must reach them too.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_SECRET_FIELD = re.compile(
    r"""(?ix)
    (["']?\b(?:password|passwd|new_?password|current_?password|secret|api[_-]?key|x-api-key
      |access_?token|refresh_?token|token|authorization)\b["']?\s*[:=]\s*)
    (?:\"\"\"(?:\\\"\"\"|(?!\"\"\")[\s\S])*(?:\"\"\"|$)   # a GraphQL block string, to its end
      |"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)   # quoted, even when cut short
      |(?:bearer\s+)?[^"'\s,;&}\]]+)
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
# GET variables: a variable's name says nothing of what it holds (`$p: String`), so every value goes.
_QUERY_VARIABLES = re.compile(r"(?i)([?&]variables=)([^&\s\"]*)")
# What a message may hold: printable text on one line (tracebacks keep their newlines).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TRACEBACK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_MESSAGE_CHARS = 4_096
MAX_TRACEBACK_CHARS = 32_768


def _masked_values(value: object) -> object:
    if isinstance(value, dict):
        return {key: _masked_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked_values(item) for item in value]
    return REDACTED


def _masked_query_variables(match: re.Match[str]) -> str:
    """The variables of a query string with their names kept and every value replaced."""
    try:
        variables = orjson.loads(unquote_plus(match.group(2)))
    except orjson.JSONDecodeError:
        return f"{match.group(1)}{REDACTED}"
    return match.group(1) + orjson.dumps(_masked_values(variables)).decode()


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def bounded(text: str, *, limit: int = MAX_MESSAGE_CHARS, traceback: bool = False) -> str:
    """`text` redacted, as one printable line (a traceback keeps its newlines), cut at `limit` chars.

    Redaction reads only the first 16 × `limit` chars: what is kept is shorter still, and the
    regexes' cost stays bounded however much a client sends (900 KB took 0.3 s of the event loop).
    """
    masked = redact(text[: 16 * limit])
    if len(masked) > limit or len(text) > 16 * limit:
        masked = f"{masked[:limit]}… [cut from {len(text)} characters]"
    return (_CONTROL_IN_TRACEBACK if traceback else _CONTROL).sub(_escaped, masked)


def redact(text: str) -> str:
    """Mask secrets and personal data in one log message."""
    text = _QUERY_VARIABLES.sub(_masked_query_variables, text)
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
            record.msg, record.args = bounded(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = bounded(record.exc_text, limit=MAX_TRACEBACK_CHARS, traceback=True)
            if getattr(record, "request_id", None) is None:
                record.request_id = request_id_var.get()
            if getattr(record, "trace_id", None) is None:
                record.trace_id = current_trace_id()
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
        # Only while tracing runs (core/tracing.py): the id of the trace the line was logged in.
        trace_id = getattr(record, "trace_id", None) or current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
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
