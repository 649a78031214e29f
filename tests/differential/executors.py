"""The two executors compared: the reference is graphql-core's (`InputBoundary`: its executor with the
input boundary in front); the candidate is the planned executor once it exists, else whatever class
`build_schema()` gave the schema.

Choosing the candidate, first that applies:
- `DIFF_CANDIDATE=module:Class` in the environment (any execution context class, e.g. a deliberately
  broken one to see the comparison fail);
- `schema.execution.PlannedExecution`, when that module exists;
- the class `build_schema()` gave the schema (until the planned executor lands, InputBoundary too: the
  comparison then agrees trivially).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import os
from dataclasses import dataclass
from typing import Any

import schema as api
from schema.scalars import InputBoundary

CANDIDATE_VARIABLE = "DIFF_CANDIDATE"


@dataclass(frozen=True)
class Executors:
    reference: Any  # an ApiSchema
    candidate: Any
    candidate_class: type
    chosen_by: str

    @property
    def trivial(self) -> bool:
        return self.candidate_class is InputBoundary

    def describe(self) -> str:
        name = f"{self.candidate_class.__module__}.{self.candidate_class.__qualname__}"
        note = " (the same as the reference: agreement is trivial)" if self.trivial else ""
        return f"reference InputBoundary, candidate {name} [{self.chosen_by}]{note}"


def _load(spec: str) -> type:
    module, _, name = spec.partition(":")
    found = getattr(importlib.import_module(module), name)
    assert inspect.isclass(found), f"{spec} is not a class"
    return found  # type: ignore[no-any-return]


def candidate_class() -> tuple[type, str]:
    spec = os.environ.get(CANDIDATE_VARIABLE)
    if spec:
        return _load(spec), f"${CANDIDATE_VARIABLE}"
    try:
        return _load("schema.execution:PlannedExecution"), "schema.execution.PlannedExecution"
    except ModuleNotFoundError as exc:
        if exc.name != "schema.execution":
            raise  # the module exists but fails to import: that is a failure, not an absence
    except AttributeError:
        pass
    return api.schema.execution_context_class, "the schema's own (build_schema)"


def _schema_with(executor: type) -> Any:
    """`build_schema(execution_context_class=executor)`.

    Strawberry cannot convert the same Query class twice in one process (the relay `node` fields are
    changed by the first conversion: a second build fails in strawberry/relay/fields.py), and the
    module-level `schema.schema` exists already. The class is only read when an operation executes
    (`Schema.execution_context_class`), so a copy of the built schema with that attribute replaced is
    the same schema with another executor.
    """
    twin = copy.copy(api.schema)
    twin.execution_context_class = executor
    return twin


def executors() -> Executors:
    cls, chosen_by = candidate_class()
    return Executors(
        reference=_schema_with(InputBoundary),
        candidate=_schema_with(cls),
        candidate_class=cls,
        chosen_by=chosen_by,
    )
