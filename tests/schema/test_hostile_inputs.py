"""Hostile input never reaches INTERNAL: every leaf of every argument of every root query and mutation
field, over HTTP, as an admin, an anonymous caller, a customer and a merchant, gets NUL bytes, huge and
odd Unicode strings, NaN, infinities, 1e400 and 100,000-digit numerals, numbers beyond BIGINT, dates of
year 1 and 9999, and foreign, truncated, wrongly typed and non-base64 ids and cursors
(tests/schema/hostile_values.py), plus values Hypothesis generates for each field with a fixed seed. No
answer may be a 5xx, carry INTERNAL, or carry an error without a code.

The app runs in this process (no socket) on a scratch database holding one row of every table, so the
ids a call needs exist. Several values go in one request (aliases). The run is bounded by construction
(a fixed set of values and examples per field): about 30 s on a shared two-core machine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from models.users import User
from server import create_app
from tests.models import factories as f
from tests.schema.calls import policy_roles
from tests.schema.hostile import Target, request, targets
from tests.schema.hostile_values import corners, generated
from tests.transport.client import serving

SEED = 20240901
CALLERS = {
    "admin": Role.ADMIN,
    "anonymous": Role.ANONYMOUS,
    "customer": Role.CUSTOMER,
    "merchant": Role.MERCHANT,
}
# Calls per request (aliases; the limit is 15), and Hypothesis examples per field (each a generated value
# for every leaf of its arguments).
BATCH = 14
EXAMPLES = 2
# Requests of the callers after the first in flight at once.
CONCURRENT = 6


# Open to anyone and about the credentials given, not the caller; each attempt costs an argon2
# verification (on purpose), so they are tried as the anonymous caller only.
CREDENTIALS = {"login", "signUp", "refreshToken", "requestPasswordReset", "resetPassword"}


@dataclass(frozen=True)
class Failure:
    target: str
    caller: str
    value: str
    error: str

    def __str__(self) -> str:
        return f"{self.target} as {self.caller} with {self.value}: {self.error}"


async def _world(url: str, settings: Settings) -> dict[str, dict[str, str]]:
    """One row of every table (so id 1 of every node type exists), and the callers' headers: the customer
    owns an account, the merchant's staff member works for merchant 1."""
    engine = create_engine(url, settings, pool_size=1)
    async with create_sessionmaker(engine)() as session, session.begin():
        for factory in f.FACTORIES.values():
            await factory(session)
        people = {
            "admin": await f.make_user(session, role="admin"),
            "customer": await session.get(User, (await f.make_account(session)).user_id),
            "merchant": await f.make_user(session, role="merchant", merchant_id=1),
        }
    await engine.dispose()
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, person in people.items():
        assert person is not None
        token = mint_access_token(
            secret=signing_secret(settings),
            user_id=person.id,
            role=CALLERS[name],
            merchant_id=person.merchant_id,
            ttl=dt.timedelta(hours=1),
        )
        headers[name] = {"authorization": f"Bearer {token}"}
    return headers


Probe = tuple[Target, Any]
# Sends (body, caller) requests at once; their responses, in order.
Post = Callable[[list[tuple[dict[str, Any], str]]], list[httpx.Response]]


def _errors(response: httpx.Response) -> tuple[bool, list[dict[str, Any]]]:
    """(whether execution started, the answer's errors); a 5xx is an error of its own."""
    if response.status_code >= 500:
        return False, [{"message": f"HTTP {response.status_code}: {response.text[:300]}"}]
    try:
        body = response.json()
    except ValueError:
        return False, []  # a 4xx the transport answered before GraphQL (a body too large)
    errors = body.get("errors") or []
    # A request error (the boundary, coercion, validation) has no data and no error with a path; a
    # non-null root field's error nulls the data too, but has its path.
    executed = body.get("data") is not None or any(e.get("path") for e in errors)
    return executed, errors


def _bad(error: dict[str, Any]) -> bool:
    code = (error.get("extensions") or {}).get("code")
    return code is None or code == "INTERNAL"


class Prober:
    """Sends probes to the API as each caller and collects what went wrong.

    Whether a value is refused before execution (the boundary, coercion, validation) depends only on
    its type and itself, not on the field or the caller: such a value is sent once, and skipped after.
    Values that pass are sent to every target of their type, several per request, as every caller."""

    def __init__(self, post: Post, callers: list[str]) -> None:
        self.post_many = post
        self.callers = callers
        self.refused_early: set[tuple[str, str]] = set()
        self.failures: list[Failure] = []

    @staticmethod
    def _key(probe: Probe) -> tuple[str, str]:
        target, value = probe
        return target.leaf.name, repr(value)

    def _report(self, probe: Probe, caller: str, error: dict[str, Any]) -> None:
        target, value = probe
        code = (error.get("extensions") or {}).get("code")
        message = f"{code} {error.get('message', '')[:160]}"
        self.failures.append(Failure(target.label, caller, repr(value)[:80], message))

    def _executing(self, batch: list[Probe], caller: str) -> list[Probe]:
        """Send the batch; the probes of it that execute. A value refused before execution stops the
        whole request, so a refused batch is halved until each refused value is alone (and remembered)."""
        executed, errors = _errors(self.post(request(batch), caller))
        if executed:
            self._check(batch, caller, errors)
            return batch
        if len(batch) > 1:
            middle = len(batch) // 2
            return self._executing(batch[:middle], caller) + self._executing(batch[middle:], caller)
        self._check(batch, caller, errors)
        self.refused_early.add(self._key(batch[0]))
        return []

    def _batches(self, probes: list[Probe]) -> Iterator[list[Probe]]:
        for start in range(0, len(probes), BATCH):
            yield probes[start : start + BATCH]

    def _check(self, batch: list[Probe], caller: str, errors: list[dict[str, Any]]) -> None:
        for error in errors:
            if _bad(error):
                path = error.get("path") or ["a0"]
                self._report(batch[min(int(str(path[0])[1:] or 0), len(batch) - 1)], caller, error)

    def run(self, probes: list[Probe], callers: list[str] | None = None) -> None:
        first, *others = callers or self.callers
        executing: list[Probe] = []
        for batch in self._batches([p for p in probes if self._key(p) not in self.refused_early]):
            executing += self._executing(batch, first)
        # What the first caller learnt holds for the others: being refused before execution does not
        # depend on who asks. A caller the field's policy refuses is refused before any value is used:
        # one request shows it. The others' requests go together: none writes what another reads.
        allowed = policy_roles(probes[0][0].field) if probes else frozenset()
        batches = list(self._batches(executing))
        sent = [
            (batch, caller)
            for caller in others
            for batch in (batches if CALLERS[caller] in allowed else batches[:1])
        ]
        for start in range(0, len(sent), CONCURRENT):
            chunk = sent[start : start + CONCURRENT]
            for (batch, caller), response in zip(
                chunk, self.post_many([(request(b), c) for b, c in chunk]), strict=True
            ):
                self._check(batch, caller, _errors(response)[1])

    def post(self, body: dict[str, Any], caller: str) -> httpx.Response:
        return self.post_many([(body, caller)])[0]


def _probe_field(targets_of_field: list[Target], prober: Prober) -> None:
    """The fixed hostile values for every leaf of the field's arguments, and those of Hypothesis's
    examples (a generated value for every leaf each, seed fixed), several to a request."""
    probes = [(t, v) for t in targets_of_field for v in corners(t)]

    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(drawn=st.tuples(*(generated(t) for t in targets_of_field)))
    def draw(drawn: tuple[Any, ...]) -> None:
        probes.extend(zip(targets_of_field, drawn, strict=True))

    draw()
    prober.run(probes, ["anonymous"] if targets_of_field[0].field_name in CREDENTIALS else None)


@contextmanager
def _client(settings: Settings, headers: dict[str, dict[str, str]]) -> Iterator[Post]:
    """Send requests (body, caller) at once to the app in this process, driven from this synchronous
    test on an event loop of its own."""
    loop = asyncio.new_event_loop()
    context = serving(create_app(settings))
    client = loop.run_until_complete(context.__aenter__())

    async def many(requests: list[tuple[dict[str, Any], str]]) -> list[httpx.Response]:
        posts = [client.post("/graphql", json=body, headers=headers[caller]) for body, caller in requests]
        return list(await asyncio.gather(*posts))

    try:
        yield lambda requests: loop.run_until_complete(many(requests))
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


def test_hostile_values_in_every_argument_never_reach_internal(
    settings: Settings, scratch_db_url: str
) -> None:
    app_settings = settings.model_copy(
        update={
            "database_url": scratch_db_url,
            # The run is hundreds of requests from one address: limits that would refuse them early
            # would test the limits, not the arguments.
            "rate_limit_bucket": 10**9,
            "login_max_failures": 10**6,
        }
    )
    headers = asyncio.run(_world(scratch_db_url, app_settings))
    by_field: dict[tuple[str, str], list[Target]] = {}
    for target in targets():
        by_field.setdefault((target.operation, target.field_name), []).append(target)
    started = time.monotonic()
    with _client(app_settings, headers) as post:
        # The admin first: it reaches every resolver, so it finds out which values execute.
        prober = Prober(post, list(CALLERS))
        for field_targets in by_field.values():
            _probe_field(field_targets, prober)
    elapsed = time.monotonic() - started

    failures = prober.failures
    assert failures == [], "\n".join(map(str, failures[:60])) + f"\n({len(failures)} in all, {elapsed:.0f} s)"
