"""Documents run by both executors as their viewers, on one pool, and what was seen: a tally per
role, and every disagreement with a readable diff (what counts as the same: answers.py)."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import gc
import inspect
import json
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import graphql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.context import RequestContext
from core.settings import Settings
from tests.differential.answers import DEEP, Answer, Case, answer, field_path, masked, same, unstable_paths
from tests.differential.world import World


@dataclass
class Mismatch:
    case: Case
    reference: Answer
    candidate: Answer
    label: str = ""

    def __str__(self) -> str:
        diff = "\n".join(
            difflib.unified_diff(
                self.reference.readable().splitlines(),
                self.candidate.readable().splitlines(),
                "reference",
                "candidate",
                lineterm="",
            )
        )
        c = self.case
        try:
            document = graphql.print_ast(graphql.parse(c.document))
        except graphql.GraphQLError:
            document = c.document
        variables = json.dumps(c.variables, ensure_ascii=False) if c.variables else "{}"
        return (
            f"executors disagree{' (' + self.label + ')' if self.label else ''}: role {c.role},"
            f" source {c.source}, operationName {c.operation_name!r}\n"
            f"--- document\n{document}\n--- variables\n{variables}\n--- diff\n{diff}"
        )


@dataclass
class Tally:
    queries: int = 0
    agree: int = 0
    deep: int = 0
    with_errors: int = 0
    internal: int = 0
    timing: int = 0  # agreed, errors differing only where graphql-core's own timing decides (answers.py)
    unstable: int = 0  # agreed once the leaves the reference itself answers differently were masked
    seconds: float = 0.0

    @property
    def coverage(self) -> float:
        return self.deep / self.queries if self.queries else 0.0

    def line(self, role: str) -> str:
        return (
            f"{role:<10} queries {self.queries:>5}  agree {self.agree:>5}  disagree"
            f" {self.queries - self.agree:>4}  depth>={DEEP} {self.coverage:6.1%}"
            f"  with errors {self.with_errors:>4}  INTERNAL {self.internal:>3}  timing {self.timing:>3}"
            f"  unstable {self.unstable:>3}"
            f"  {self.seconds:6.1f}s"
        )


@dataclass
class Comparison:
    """Runs cases through both executors on one pool and keeps what it saw."""

    executors: Any
    world: World
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    concurrency: int = 6
    tallies: dict[str, Tally] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    unawaited: int = 0  # coroutines the executors created and never awaited
    # Leaves where the reference disagreed with itself (masked before comparing), by field path.
    unstable_fields: Counter[str] = field(default_factory=Counter)

    def fresh(self, executors: Any = None) -> Comparison:
        """A comparison on the same pool with nothing seen yet (and, if given, other executors)."""
        return Comparison(
            executors or self.executors, self.world, self.settings, self.sessionmaker, self.concurrency
        )

    async def execute(self, api: Any, case: Case) -> Any:
        context = RequestContext(
            request=None,
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            write_sessionmaker=self.sessionmaker,
            redis=None,
            viewer=self.world.viewer(case.role),
            request_id=uuid.uuid4().hex,
            client_ip="127.0.0.1",
        )
        return await api.execute(
            case.document,
            variable_values=case.variables,
            context_value=context,
            operation_name=case.operation_name,
        )

    async def compare(self, case: Case, label: str = "") -> tuple[Answer, Mismatch | None]:
        """The reference's answer, and how the candidate's differs (None: it does not)."""
        reference = answer(await self.execute(self.executors.reference, case), case)
        candidate = answer(await self.execute(self.executors.candidate, case), case)
        tally = self.tallies.setdefault(case.role, Tally())
        tally.queries += 1
        tally.deep += reference.depth >= DEEP
        tally.with_errors += bool(reference.errors)
        tally.internal += any(key[3] == "INTERNAL" for key in reference.errors)
        verdict = same(reference, candidate)
        if verdict is None and reference.data != candidate.data:
            verdict = await self._unstable(case, reference, candidate)
        if verdict is not None:
            tally.agree += 1
            tally.timing += verdict == "timing"
            tally.unstable += verdict == "unstable"
            return reference, None
        mismatch = Mismatch(case, reference, candidate, label)
        self.mismatches.append(mismatch)
        return reference, mismatch

    async def _unstable(self, case: Case, reference: Answer, candidate: Answer) -> str | None:
        """ "unstable" when the answers are the same once the leaves where the reference disagrees with
        itself (asked again) are masked on both sides; else None."""
        again = answer(await self.execute(self.executors.reference, case), case)
        paths = unstable_paths(reference.data, again.data)
        if not paths or same(masked(reference, paths), masked(candidate, paths)) is None:
            return None
        self.unstable_fields.update(field_path(p) for p in paths)
        return "unstable"

    async def run(self, cases: list[Case], label: str = "") -> list[Answer]:
        """Every case, a few at a time (each execution on its own context and connections); the
        reference's answers, in the order of the cases."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(case: Case) -> Answer:
            async with gate:
                reference, _ = await self.compare(case, label)
                return reference

        with self._unawaited_counted():
            return list(await asyncio.gather(*(one(case) for case in cases)))

    @contextlib.contextmanager
    def _unawaited_counted(self) -> Iterator[None]:
        """graphql-core's executor, when an error nulls a non-null root field, drops awaitables of other
        fields without awaiting them; they sit in reference cycles until a garbage collection, whose
        "coroutine ... was never awaited" would then fail whatever test runs (warnings are errors).
        They are collected and counted here; any other warning is issued again as it was. A coroutine
        finalised while a frame without builtins runs (a namedtuple's `__new__`, made by `eval`) cannot
        even issue its warning (KeyError '__import__') and reaches `sys.unraisablehook` instead: it is
        counted the same way."""
        previous_hook = sys.unraisablehook

        def unraisable(report: Any) -> None:
            if inspect.iscoroutine(report.object):
                self.unawaited += 1
            else:
                previous_hook(report)

        sys.unraisablehook = unraisable
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                gc.collect()
                sys.unraisablehook = previous_hook
        for w in seen:
            if issubclass(w.category, RuntimeWarning) and "was never awaited" in str(w.message):
                self.unawaited += 1
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)

    async def run_by_role(self, cases: list[Case], label: str = "") -> None:
        """`run`, one role after the other, so each role's time is its own."""
        for role in dict.fromkeys(case.role for case in cases):
            started = time.perf_counter()
            await self.run([case for case in cases if case.role == role], label)
            self.tallies[role].seconds += time.perf_counter() - started

    def report(self) -> str:
        lines = [tally.line(role) for role, tally in self.tallies.items()]
        lines.append(f"coroutines left unawaited (either executor): {self.unawaited}")
        if self.unstable_fields:
            fields = ", ".join(f"{name} x{n}" for name, n in self.unstable_fields.most_common())
            lines.append(f"leaves the reference answers differently when asked again (masked): {fields}")
        return "\n".join(lines)
