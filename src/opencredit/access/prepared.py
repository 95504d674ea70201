"""Hot statements run on the DB-API connection, compiled once by SQLAlchemy.

A partner's score read makes three statements (the key, the consent, the inquiry). Through
SQLAlchemy Core each costs ~0.1-0.3 ms of CPU in event dispatch, result setup and the pool,
ten times what the database itself spends; on the busiest route that is most of the library's
share of a request. A :class:`Prepared` is the same SQLAlchemy statement, compiled once for
the store's dialect (and PostgreSQL schema); its parameters go through the columns' own bind
processors and its results through their result processors, so values are stored and read
exactly as through Core, and the rows are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy.sql import ClauseElement

if TYPE_CHECKING:
    from opencredit.access.store import AccessStore


class Prepared:
    """``statement`` compiled for ``store``: :meth:`params` for the driver, :meth:`row` back."""

    def __init__(self, store: AccessStore, statement: ClauseElement) -> None:
        dialect = store.engine.dialect
        schema = {"schema_translate_map": {None: store.schema}, "render_schema_translate": True}
        compiled = statement.compile(dialect=dialect, **(schema if store.schema else {}))
        self.sql = str(compiled)
        self._positional: Sequence[str] | None = (
            list(compiled.positiontup or []) if compiled.positional else None
        )
        self._binds: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        self._compiled = compiled
        # A select's columns, or an insert's RETURNING columns.
        cols = list(getattr(statement, "exported_columns", ()))
        self.names = [c.key for c in cols]
        self._results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in cols]
        self._row = NamedTuple("Row", [(n, Any) for n in self.names])  # type: ignore[misc]

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """``values`` (by bind key: the column name, or a ``bindparam``'s name) as the driver
        wants them, bind processors applied."""
        out = self._compiled.construct_params(values)  # with the statement's own literals
        for name, value in out.items():
            process = self._binds.get(name)
            if process is not None and value is not None:
                out[name] = process(value)
        if self._positional is not None:
            return [out[name] for name in self._positional]
        return out

    def row(self, raw: Sequence[Any] | None) -> Any:
        """A driver row as a named tuple with the columns' Python values (None stays None)."""
        if raw is None:
            return None
        return self._row(
            *(
                p(v) if p is not None and v is not None else v
                for p, v in zip(self._results, raw, strict=True)
            )
        )
