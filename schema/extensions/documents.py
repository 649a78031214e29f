"""What a document may be before it runs: parsed and validated once (cached within a byte budget), at
most so many tokens, so deep and so many aliases, and no introspection where the settings turn it off.

These depend only on the document, so the depth, alias and introspection checks run as validation
rules, whose results CachedValidation keeps per document; each reads its limit from the request's
settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationContext, ValidationRule, parse
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, DisableIntrospection, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.schema import validate_document

from core.errors import ErrorCode
from core.viewer import Role
from schema.extensions.caches import DocumentCache, document_cache


def _cache_of(settings: Any) -> DocumentCache:
    return document_cache(
        settings.graphql_document_cache_bytes, settings.graphql_document_cache_max_document_bytes
    )


class CachedParser(SchemaExtension):
    """Parsing through the worker's document cache (bounded by bytes, schema/extensions/caches.py).

    A document it cannot parse is left to Strawberry's own parse: an error raised in `on_parse`
    escapes Strawberry's error handling (the response would carry an uncoded error); parsing again in
    Strawberry's guarded step answers it like any syntax error.
    """

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.query is not None:
            try:
                ec.graphql_document = _cache_of(ec.context.settings).parse(ec.query, ec.parse_options, parse)
            except GraphQLError:
                pass
        yield


class CachedValidation(SchemaExtension):
    """Validation results kept with their document in the same cache (Strawberry's ValidationCache
    keeps 128 of them apart from the parse cache, whatever their size)."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        assert ec.graphql_document is not None
        if ec.query is None:
            yield
            return
        ec.pre_execution_errors = _cache_of(ec.context.settings).validate(
            ec.query,
            ec.parse_options,
            ec.schema._schema,
            ec.graphql_document,
            ec.validation_rules,
            validate_document,
        )
        yield


class _CodingContext:
    """A validation context whose reported errors carry QUERY_TOO_COMPLEX."""

    def __init__(self, context: ValidationContext) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        extensions = {**(error.extensions or {}), "code": ErrorCode.QUERY_TOO_COMPLEX.value}
        self._context.report_error(GraphQLError(error.message, nodes=error.nodes, extensions=extensions))


def _coded(rule: type[ValidationRule]) -> type[ValidationRule]:
    # Strawberry's limit rules do all their work in __init__, so they can be run once on the
    # coding context and then dropped.
    class Coded(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            try:
                rule(_CodingContext(context))  # type: ignore[arg-type]
            except KeyError:
                pass  # the depth rule trips on an unknown fragment, which KnownFragmentNames reports
            super().__init__(context)

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


# One rule class per limit value: ValidationCache keys on the rules, so a class made per request
# would miss the cache every time.
@lru_cache(maxsize=32)
def depth_rule(max_depth: int) -> type[ValidationRule]:
    return _coded(depth_validator(max_depth, None))


@lru_cache(maxsize=32)
def alias_rule(max_aliases: int) -> type[ValidationRule]:
    return _coded(alias_validator(max_aliases))


class DocumentLimits(AddValidationRules):
    """Strawberry's depth and alias limiters, with the limits of the request's settings."""

    def __init__(self) -> None:
        super().__init__([])

    def on_operation(self) -> Any:
        settings = self.execution_context.context.settings
        self.validation_rules = [
            depth_rule(settings.graphql_max_depth),
            alias_rule(settings.graphql_max_aliases),
        ]
        yield from super().on_operation()


class TokenLimit(MaxTokensLimiter):
    """Strawberry's token limiter, with the limit of the request's settings and our error code."""

    def __init__(self) -> None:
        # A placeholder: the limit is the request's, known only once the operation starts.
        super().__init__(max_token_count=1)

    def on_operation(self) -> Any:
        self.max_token_count = self.execution_context.context.settings.graphql_max_tokens
        yield from super().on_operation()

    def on_parse(self) -> Any:
        yield
        # Strawberry answers with the error object it caught, so it is coded in place.
        marker = f"more than {self.max_token_count} tokens"
        for error in self.execution_context.pre_execution_errors or []:
            if marker in error.message:
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.QUERY_TOO_COMPLEX.value}


class NoServiceSdlRule(ValidationRule):
    """Federation's `_service { sdl }` is the whole schema: refused wherever introspection is."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value == "_service" and self.context.get_parent_type() is self.context.schema.query_type:
            self.report_error(
                GraphQLError(
                    "GraphQL introspection has been disabled, but the requested query contained the field"
                    " '_service'.",
                    node,
                )
            )


class IntrospectionSwitch(DisableIntrospection):
    """Strawberry's DisableIntrospection, applied only when the request's settings turn it off; with it,
    `_service` is refused too, except to a service API key where FEDERATION_SDL_ENABLED allows routers."""

    def on_operation(self) -> Any:
        context = self.execution_context.context
        settings = context.settings
        rules: list[type[ValidationRule]] = []
        if not settings.introspection_enabled:
            rules.append(NoSchemaIntrospectionCustomRule)
            if not (settings.federation_sdl_enabled and context.viewer.role is Role.SERVICE):
                rules.append(NoServiceSdlRule)
        self.validation_rules = rules
        yield from super().on_operation()
