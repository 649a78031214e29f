"""Users' recommended merchants (affinity scores and the merchants they rank), cached in Redis.

What is cached is exactly what RecommendedMerchantsByUserLoader (loaders/ml.py) computes for a
(user, first) key: the top `first` active merchants by affinity, their rows as the loader selects
them. It is made of the user's affinity rows and of merchant rows, so it is dropped (after the
commit, by `on_changes`):
- for one user, when that user's affinities change (`user_merchant_affinity.user_id=N`) or the user
  row does (deleting a user cascades to the affinities in PostgreSQL, unseen by the session);
- for everyone (a generation number bumped), when a statement changed affinities whose rows it did
  not name (`user_merchant_affinity.*`: the pipeline's bulk upsert, an erasure's DELETE) or any
  merchant changed (a name, or a merchant switched off, changes what others were recommended).
A read computing from a snapshot taken before a commit must not store its result after that commit's
drop. Every drop therefore also starts a quiet period, twice the longest a request may run
(REQUEST_TIMEOUT_S), during which nothing is stored for what was dropped: a request storing after it
began after the drop, so it read the commit. The checks and the store are one Lua script (atomic).
Redis down: everything is computed fresh, nothing fails (and a drop that could not reach Redis
leaves entries at most RECOMMENDATION_CACHE_TTL_S old).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import namedtuple
from collections.abc import Awaitable, Callable, Hashable
from decimal import Decimal
from typing import Any

import orjson
import redis.asyncio as aioredis

from core.changes import Changes, any_key_tag
from core.settings import Settings
from loaders.merchants import MERCHANT_COLUMNS
from loaders.ml import Recommendation
from models.merchants import Merchant
from models.ml import UserMerchantAffinity
from models.users import User

log = logging.getLogger(__name__)

Key = tuple[int, int]  # (user id, first)
AFFINITY, USERS, MERCHANTS = UserMerchantAffinity.__tablename__, User.__tablename__, Merchant.__tablename__
_USER_TAG = re.compile(rf"^(?:{AFFINITY}\.user_id|{USERS}\.id)=(\d+)$")
# What the loader's rows carry: the merchant's columns, then the ranking's.
FIELDS = (*(column.key for column in MERCHANT_COLUMNS), "for_user_id", "affinity_score")
CachedRow = namedtuple("CachedRow", FIELDS)  # type: ignore[misc]
_DECODERS: dict[int, Callable[[Any], Any]] = {}
for _index, _column in enumerate(MERCHANT_COLUMNS):
    _type = _column.type.python_type
    if _type is Decimal:
        _DECODERS[_index] = Decimal
    elif _type is dt.datetime:
        _DECODERS[_index] = dt.datetime.fromisoformat

# KEYS: generation, quiet-for-all, then per entry its user's hash and quiet key.
# ARGV: the generation the entries were computed under, the TTL, then per entry its field and value.
STORE = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local stored = 0
for i = 3, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    redis.call('HSET', KEYS[i], ARGV[i], ARGV[i + 1])
    if redis.call('TTL', KEYS[i]) < 0 then
      redis.call('EXPIRE', KEYS[i], ARGV[2])
    end
    stored = stored + 1
  end
end
return stored
"""


def _encode(generation: int, recommendations: list[Recommendation]) -> bytes:
    rows = [tuple(r.merchant) for r in recommendations]
    return orjson.dumps({"g": generation, "rows": rows}, default=str)


def _decode(rows: list[list[Any]]) -> list[Recommendation]:
    found = []
    for values in rows:
        for index, decode in _DECODERS.items():
            if values[index] is not None:
                values[index] = decode(values[index])
        row = CachedRow(*values)
        found.append(Recommendation(merchant=row, affinity_score=row.affinity_score))
    return found


class RecommendationCache:
    def __init__(self, *, redis: aioredis.Redis, settings: Settings) -> None:
        self._redis = redis
        self._ttl_s = settings.recommendation_cache_ttl_s
        self._quiet_ms = int(2 * settings.request_timeout_s * 1000)
        prefix = f"{settings.redis_key_prefix}recs:"
        self._generation_key, self._quiet_key = f"{prefix}gen", f"{prefix}quiet"
        self._user_prefix, self._user_quiet_prefix = f"{prefix}u:", f"{prefix}quiet:"
        self._store = self._redis.register_script(STORE)

    async def load(
        self,
        keys: list[Key],
        *,
        cacheable: Callable[[Key], bool],
        compute: Callable[[list[Key]], Awaitable[list[list[Recommendation]]]],
    ) -> list[list[Recommendation]]:
        """Each key's recommendations: cached ones from Redis, the others computed in one batch (and
        stored, for the cacheable keys)."""
        wanted = [key for key in keys if cacheable(key)]
        generation, found = await self._lookup(wanted)
        missed = [key for key in dict.fromkeys(keys) if key not in found]
        if missed:
            computed = dict(zip(missed, await compute(missed), strict=True))
            if generation is not None:
                await self._keep(generation, {k: v for k, v in computed.items() if cacheable(k)})
            found.update(computed)
        return [found[key] for key in keys]

    async def _lookup(self, keys: list[Key]) -> tuple[int | None, dict[Hashable, list[Recommendation]]]:
        """The current generation (None: Redis is away, or nothing to look up) and its entries."""
        if not keys:
            return None, {}
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.get(self._generation_key)
            for user_id, first in keys:
                pipe.hget(f"{self._user_prefix}{user_id}", str(first))
            raw_generation, *entries = await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis away: computed fresh
            log.warning("recommendation cache: redis unavailable (%s)", type(exc).__name__)
            return None, {}
        generation = int(raw_generation or 0)
        found: dict[Hashable, list[Recommendation]] = {}
        for key, entry in zip(keys, entries, strict=True):
            if entry is not None:
                value = orjson.loads(entry)
                if value["g"] == generation:
                    found[key] = _decode(value["rows"])
        return generation, found

    async def _keep(self, generation: int, computed: dict[Key, list[Recommendation]]) -> None:
        if not computed or self._ttl_s <= 0:
            return
        keys, args = [self._generation_key, self._quiet_key], [str(generation), str(self._ttl_s)]
        for (user_id, first), value in computed.items():
            keys += [f"{self._user_prefix}{user_id}", f"{self._user_quiet_prefix}{user_id}"]
            args += [str(first), _encode(generation, value)]
        try:
            await self._store(keys=keys, args=args)
        except Exception as exc:  # noqa: BLE001 - not kept: computed again next time
            log.warning("recommendation cache: not stored (%s)", type(exc).__name__)

    async def forget_users(self, user_ids: set[int]) -> None:
        """Drop these users' entries, and store none of theirs during the quiet period."""
        pipe = self._redis.pipeline(transaction=True)
        for user_id in sorted(user_ids):
            pipe.delete(f"{self._user_prefix}{user_id}")
            pipe.set(f"{self._user_quiet_prefix}{user_id}", b"1", px=self._quiet_ms)
        await pipe.execute()

    async def forget_everyone(self) -> None:
        """Make every entry stale (a new generation), and store none during the quiet period."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(self._generation_key)
        pipe.set(self._quiet_key, b"1", px=self._quiet_ms)
        await pipe.execute()

    async def on_changes(self, changes: Changes) -> None:
        """After-commit subscriber: drop what the committed write made stale."""
        try:
            if MERCHANTS in changes.tables or any_key_tag(AFFINITY) in changes.tags:
                await self.forget_everyone()
                return
            users = {int(m.group(1)) for tag in changes.tags if (m := _USER_TAG.match(tag))}
            if users:
                await self.forget_users(users)
        except Exception as exc:  # noqa: BLE001 - Redis away: entries expire within their TTL
            log.warning("recommendation cache: not invalidated (%s: %s)", type(exc).__name__, exc)
