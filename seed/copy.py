"""COPY into the seeding transaction, one progress bar per table, and the bulk-load table mode."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from tqdm import tqdm

Row = tuple[Any, ...]

# Rows between progress updates: often enough to see movement, rarely enough to cost nothing.
_TICK = 2048


class Loader:
    """Writes rows with COPY on one connection and counts them per table."""

    def __init__(self, conn: asyncpg.Connection, *, progress: bool) -> None:
        self.conn = conn
        self.progress = progress
        self.rows: dict[str, int] = {}
        self._bars: dict[str, tqdm] = {}

    def _bar(self, table: str, total: int | None) -> tqdm:
        bar = self._bars.get(table)
        if bar is None:
            counted = "{percentage:3.0f}%|{bar:24}| {n}/{total}" if total else "{n}"
            bar = tqdm(
                total=total,
                desc=f"{table:<28}",
                bar_format="{desc} " + counted + " rows [{elapsed}]",
                file=sys.stderr,
                disable=not self.progress,
                dynamic_ncols=True,
                mininterval=0.5,
            )
            self._bars[table] = bar
        return bar

    def _counted(self, table: str, records: Iterable[Row], total: int | None) -> Iterator[Row]:
        bar = self._bar(table, total)
        n = 0
        for n, record in enumerate(records, 1):
            yield record
            if n % _TICK == 0:
                bar.update(_TICK)
        bar.update(n % _TICK)
        self.rows[table] = self.rows.get(table, 0) + n

    async def copy(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Row],
        *,
        total: int | None = None,
        last: bool = True,
    ) -> None:
        """COPY `records` into `table`; a generator is streamed, so the server works while Python generates.

        `total` is the expected row count of the table across all calls, for the progress bar; `last`
        False keeps the bar open for another call on the same table.
        """
        await self.conn.copy_records_to_table(
            table, records=self._counted(table, records, total), columns=list(columns)
        )
        if last:
            self._bars.pop(table).close()

    async def copy_with_ids(
        self,
        table: str,
        columns: Sequence[str],
        records: Sequence[Row],
        *,
        total: int | None = None,
        last: bool = True,
    ) -> list[int]:
        """COPY `records` and return the identity values PostgreSQL gave them, in the same order."""
        after = await self.conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}")
        await self.copy(table, columns, records, total=total, last=last)
        ids: list[int] = [
            r[0] for r in await self.conn.fetch(f"SELECT id FROM {table} WHERE id > $1 ORDER BY id", after)
        ]
        if len(ids) != len(records):
            raise RuntimeError(
                f"{table}: expected {len(records)} new ids, found {len(ids)}: is another writer active?"
            )
        return ids

    async def insert_select(self, table: str, sql: str, *args: Any, last: bool = True) -> None:
        """Run an INSERT … SELECT into `table` and count what it wrote."""
        status = await self.conn.execute(sql, *args)
        n = int(status.rsplit(" ", 1)[-1])
        self._bar(table, None).update(n)
        self.rows[table] = self.rows.get(table, 0) + n
        if last:
            self._bars.pop(table).close()

    def close(self) -> None:
        """Close the bars a failure left open."""
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


@asynccontextmanager
async def bulk_mode(conn: asyncpg.Connection, tables: Sequence[str]) -> AsyncIterator[None]:
    """Drop the foreign keys and plain indexes of `tables`, and recreate them from their catalogue
    definitions on exit.

    Checking a foreign key row by row and growing an index entry by entry cost several times more than
    one validating join and one sorted build at the end (PostgreSQL manual, "Populating a Database").
    Primary keys and unique constraints stay, so ids can be read back and other tables' foreign keys
    still have their targets. Reading the definitions back keeps names and shapes identical to the
    migrations. On an exception nothing is recreated: the caller's transaction rolls it all back.
    """
    saved: list[tuple[str, str, str]] = []
    for table in tables:
        fks = await conn.fetch(
            """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname
            """,
            table,
        )
        indexes = await conn.fetch(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = $1::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            ORDER BY i.relname
            """,
            table,
        )
        for name, definition in fks:
            await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            saved.append((table, name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for name, definition in indexes:
            await conn.execute(f'DROP INDEX "{name}"')
            saved.append((table, name, definition))
    yield
    # Indexes first: the foreign keys' validating joins may use them.
    for _, _, ddl in sorted(saved, key=lambda s: s[2].startswith("ALTER")):
        await conn.execute(ddl)
