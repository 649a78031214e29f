"""Label values a client cannot choose: an operation's name is a label only when it is known (a
trusted document's, a name in METRICS_OPERATION_NAMES, or one of the documents below); any other name
is "other" and an unnamed operation "anonymous", so 200 random names add one series, not 200."""

from __future__ import annotations

from collections.abc import Iterable

from graphql import OperationDefinitionNode, parse
from graphql.error import GraphQLError

ANONYMOUS = "anonymous"
OTHER = "other"
# The operations of the README's examples and of bench/ (dashboard, documents, assign).
KNOWN_DOCUMENTS = frozenset(
    {
        "Dashboard",
        "CampaignsPage",
        "Flags",
        "Bell",
        "Banner",
        "CampaignPage",
        "CampaignDashboard",
        "AdminLog",
        "Assign",
        "Create",
        "Start",
    }
)
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})
UNKNOWN_TYPE = "unknown"

_known: set[str] = set(KNOWN_DOCUMENTS)


def allow_operation_names(names: Iterable[str]) -> None:
    """Give these operation names their own label value in this process (settings, a manifest)."""
    _known.update(name for name in names if name)


def operation_names_of(documents: Iterable[str]) -> set[str]:
    """The names of the operations the documents define (the trusted documents manifest's)."""
    names: set[str] = set()
    for document in documents:
        try:
            definitions = parse(document, no_location=True).definitions
        except GraphQLError:
            continue
        names.update(
            d.name.value for d in definitions if isinstance(d, OperationDefinitionNode) and d.name is not None
        )
    return names


def operation_label(name: str | None) -> str:
    if not name:
        return ANONYMOUS
    return name if name in _known else OTHER


def type_label(operation_type: object) -> str:
    value = str(getattr(operation_type, "value", operation_type or "")).lower()
    return value if value in OPERATION_TYPES else UNKNOWN_TYPE
