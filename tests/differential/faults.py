"""Injected errors, the same for both executors: a loader whose batch fails for some keys (or a count
that always fails), so errors arise deep in the answer and their nulls propagate through non-null
parents. Nothing in the product changes: a loader class's `load_batch` (or the count function
`resolvers.pagination` calls) is replaced while the fault's cases run, and put back after.

A batch answers an Exception instance for a failing key (aiodataloader rejects that key alone), so
the other keys of the same batch still resolve: the answer mixes values and nulls at indexed paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from strawberry import relay

import resolvers.pagination
from core.errors import ApiError, ErrorCode
from loaders.campaigns import CampaignByIdLoader
from loaders.experiments import AssignedUsersByExperimentLoader, ExperimentByIdLoader
from loaders.flags import FeatureFlagByIdLoader
from loaders.merchants import MerchantByIdLoader, MerchantCategoryByIdLoader
from loaders.users import UserByIdLoader
from tests.differential.compare import Answer, Case, Comparison
from tests.differential.world import World

# Generated cases per role run again under the by-id fault.
CORPUS_UNDER_FAULT = 15


def _pk(key: Any) -> int:
    return key if isinstance(key, int) else next(k for k in key if isinstance(k, int))


@contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    own = name in vars(owner)
    original = vars(owner).get(name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


def failing_keys(loader: type, fails: Callable[[int], bool], error: Callable[[Any], Exception]) -> Any:
    """The loader's batch, with `error(key)` in place of the value of every key whose pk `fails`."""
    original = loader.load_batch  # type: ignore[attr-defined]

    async def load_batch(self: Any, session: Any, keys: list[Any]) -> list[Any]:
        values = await original(self, session, keys)
        return [error(k) if fails(_pk(k)) else v for k, v in zip(keys, values, strict=True)]

    return _replaced(loader, "load_batch", load_batch)


def _odd(pk: int) -> bool:
    return pk % 2 == 1


def _crash(key: Any) -> Exception:
    return RuntimeError(f"injected failure for {key!r}")


def _coded(key: Any) -> Exception:
    return ApiError("The merchant service is unavailable (injected).", code=ErrorCode.SERVICE_UNAVAILABLE)


async def _no_count(*_args: Any) -> int:
    raise RuntimeError("injected count failure")


@dataclass(frozen=True)
class Fault:
    name: str
    why: str
    patch: Callable[[], Any]  # a context manager factory
    documents: Callable[[World], list[str]]
    roles: tuple[str, ...]
    # The answer of at least one case must be entirely null (the error reached the root).
    reaches_root: bool = False


def _ids(world: World, type_name: str, n: int) -> str:
    return ", ".join(f'"{relay.to_base64(type_name, pk)}"' for pk in world.ids[type_name][:n])


FAULTS = [
    Fault(
        "variant counts",
        "Variant.assignedUsers (Int!) fails for odd experiments: the Variant! item nulls its list",
        lambda: failing_keys(AssignedUsersByExperimentLoader, _odd, _crash),
        lambda w: [
            "{ experiments(first: 10) { totalCount edges { node { key variants { key assignedUsers } } } } }",
            f"query One($id: ID!) {{ experiment(id: $id) {{ key variants {{ assignedUsers }} }} }}"
            f" query Many {{ nodes(ids: [{_ids(w, 'Experiment', 4)}]) {{ ... on Experiment {{ variants"
            " { key isControl assignedUsers } } } }",
        ],
        ("admin", "marketer", "analyst"),
    ),
    Fault(
        "merchant categories",
        "Merchant.category fails for odd categories, three and four levels down, in lists",
        lambda: failing_keys(MerchantCategoryByIdLoader, _odd, _crash),
        lambda w: [
            "{ merchants(first: 10) { edges { node { name category { name } } } }"
            " campaigns(first: 6) { edges { node { name merchant { category { id name } } } } } }",
        ],
        ("admin", "anonymous", "merchant"),
    ),
    Fault(
        "counts",
        "every totalCount fails: MerchantConnection! under the non-null root field nulls all data",
        lambda: _replaced(resolvers.pagination, "count", _no_count),
        lambda w: [
            "{ merchantCategories { name } merchants(first: 3) { totalCount edges { node { name } } } }",
            "{ merchantCategories { name } campaigns(first: 3) { totalCount edges { node { name } } } }",
        ],
        ("admin", "anonymous", "merchant"),
        reaches_root=True,
    ),
    Fault(
        "coded merchant errors",
        "a coded error (its message shown) for odd merchants; nodes(ids:) fails as a whole",
        lambda: failing_keys(MerchantByIdLoader, _odd, _coded),
        lambda w: [
            "{ campaigns(first: 8) { edges { node { name merchant { name city } } } } }",
            f"{{ merchantCategories {{ id }} nodes(ids: [{_ids(w, 'Merchant', 3)}]) {{ id }} }}",
            "{ me { transactions(first: 6) { edges { node { amount merchant { name } } } } } }",
        ],
        ("admin", "merchant", "customer"),
        reaches_root=True,
    ),
]


@contextmanager
def _by_id_failures() -> Iterator[None]:
    with ExitStack() as stack:
        for loader in (
            MerchantByIdLoader,
            CampaignByIdLoader,
            UserByIdLoader,
            ExperimentByIdLoader,
            FeatureFlagByIdLoader,
        ):
            stack.enter_context(failing_keys(loader, _odd, _crash))
        yield


def _variables(document: str, world: World) -> dict[str, Any] | None:
    if "$id" in document:
        return {"id": relay.to_base64("Experiment", world.ids["Experiment"][0])}
    return None


@contextmanager
def _expected_errors() -> Iterator[None]:
    """The injected failures are INTERNAL errors, each logged with its traceback: expected here, noise."""
    log = logging.getLogger("swipesavvy.graphql")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


async def run_faults(
    comparison: Comparison, corpus: list[Case] | None = None, per_role: int = CORPUS_UNDER_FAULT
) -> dict[str, list[Answer]]:
    """Every fault's cases under the fault (and the first `per_role` generated cases of each role with
    by-id loads failing for odd keys); the reference's answers per fault."""
    with _expected_errors():
        return await _run_faults(comparison, corpus, per_role)


async def _run_faults(
    comparison: Comparison, corpus: list[Case] | None, per_role: int
) -> dict[str, list[Answer]]:
    answers: dict[str, list[Answer]] = {}
    for fault in FAULTS:
        cases = []
        for document in fault.documents(comparison.world):
            names = ["One", "Many"] if "query One" in document else [None]
            for role in fault.roles:
                for name in names:
                    variables = _variables(document, comparison.world) if name == "One" else None
                    cases.append(Case(role, document, variables, name, f"fault: {fault.name}"))
        with fault.patch():
            answers[fault.name] = await comparison.run(cases, f"fault: {fault.name}")
    if corpus:
        taken: dict[str, int] = {}
        sample = []
        for case in corpus:
            if taken.get(case.role, 0) < per_role:
                sample.append(case)
                taken[case.role] = taken.get(case.role, 0) + 1
        with _by_id_failures():
            answers["by-id loads"] = await comparison.run(sample, "fault: by-id loads fail for odd keys")
    return answers
