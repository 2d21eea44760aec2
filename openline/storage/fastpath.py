"""A fast lane for the hot statements on SQLite.

SQLAlchemy Core costs ~150 µs per statement in its execution machinery, five times what SQLite
itself needs for an indexed lookup or a one-row insert. Statements the pipeline runs on every
message are wrapped in :class:`Prepared`; on SQLite they are compiled once per set of parameter
names (SQLAlchemy does the compiling, so the SQL and the type conversions stay its own) and then
run straight on the DB-API cursor. Anything the fast lane does not handle — IN lists that expand,
RETURNING — falls back to SQLAlchemy, so correctness never depends on it.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from openline.storage.types import UtcDateTime


class Prepared:
    """A statement built once and executed many times with different parameters."""

    __slots__ = ("statement",)

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement


@dataclass(frozen=True, slots=True)
class Plan:
    sql: str
    names: tuple[str, ...]  # parameter names in placeholder order
    defaults: Mapping[str, Any]  # literal values compiled into the statement (e.g. LIMIT 1)
    binds: Mapping[str, Callable[[Any], Any]]
    row_type: Any  # a namedtuple type, or None for statements without rows
    results: tuple[Callable[[Any], Any] | None, ...]


def compile_plan(prepared: Prepared, keys: tuple[str, ...], dialect: Dialect) -> Plan | None:
    """The plan for these parameter names, or None when the statement needs the full machinery."""
    compiled: Any = prepared.statement.compile(dialect=dialect, column_keys=list(keys))
    sql = compiled.string
    if "POSTCOMPILE" in sql or " RETURNING " in sql.upper() or compiled.positiontup is None:
        return None
    names = tuple(compiled.positiontup)
    defaults = {name: value for name, value in compiled.construct_params(_check=False).items() if name not in keys}
    if any(name not in keys and name not in defaults for name in names):
        return None
    binds = {name: proc for name, proc in compiled._bind_processors.items() if name in names}
    if dialect.name == "sqlite":
        for name in binds:
            if isinstance(compiled.binds[name].type, UtcDateTime):
                binds[name] = sqlite_datetime_bind
    row_type = None
    results: tuple[Callable[[Any], Any] | None, ...] = ()
    columns = getattr(compiled, "_result_columns", None)
    if columns:
        try:
            row_type = _row_type(tuple(column.keyname for column in columns))
        except ValueError:  # a column name a namedtuple cannot carry
            return None
        results = tuple(sqlite_datetime_result if dialect.name == "sqlite" and isinstance(column.type, UtcDateTime)
                        else column.type._cached_result_processor(dialect, None) for column in columns)
    return Plan(sql, names, defaults, binds, row_type, results)


def sqlite_datetime_bind(value: datetime | None) -> str | None:
    """UtcDateTime then SQLAlchemy's SQLite DATETIME in one step: naive UTC text, the same
    text SQLAlchemy stores ("YYYY-MM-DD HH:MM:SS.ffffff"), so rows compare and sort alike."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_datetime_result(value: object) -> datetime | None:
    """The stored text back as an aware UTC datetime (what UtcDateTime returns)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _row_type(names: tuple[str, ...]) -> Any:
    base = namedtuple("Row", names)  # type: ignore[misc]

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return Row


class FastResult:
    """The part of SQLAlchemy's Result the repositories use."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return list(self._rows)

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]


def run(plan: Plan, cursor: Any, parameters: Mapping[str, Any]) -> FastResult:
    values = []
    for name in plan.names:
        value = parameters[name] if name in parameters else plan.defaults[name]
        process = plan.binds.get(name)
        values.append(process(value) if process is not None else value)
    cursor.execute(plan.sql, values)
    if plan.row_type is None:
        return FastResult([], cursor.rowcount)
    make, processors = plan.row_type, plan.results
    rows = [make(*(p(v) if p is not None else v for p, v in zip(processors, raw, strict=True)))
            for raw in cursor.fetchall()]
    return FastResult(rows, cursor.rowcount)
