"""Set-based writes on PostgreSQL: many rows as one statement with one parameter per column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, bindparam, column, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine


def unnest_table(name: str, types: Mapping[str, TypeEngine[Any]]) -> TableValuedAlias:
    """``unnest(:name_c1, :name_c2, …) AS name(c1, c2, …)``: rows bound as one array per
    column (``unnest_params``).

    The SQL text depends on the columns only, not on how many rows there are, so it is
    compiled and prepared once (a VALUES list, or insertmanyvalues, is a new statement for
    every batch size).
    """
    arrays = (
        bindparam(f"{name}_{col}", type_=postgresql.ARRAY(type_)) for col, type_ in types.items()
    )
    return (
        func.unnest(*arrays)
        .table_valued(*(column(col, type_) for col, type_ in types.items()))
        .render_derived(name=name)
    )


def unnest_params(
    name: str, types: Mapping[str, TypeEngine[Any]], rows: Sequence[Mapping[str, Any]]
) -> dict[str, list[Any]]:
    """The parameters of ``unnest_table(name, types)`` for these rows."""
    return {f"{name}_{col}": [row[col] for row in rows] for col in types}


def column_types(model: Any, names: Sequence[str]) -> dict[str, TypeEngine[Any]]:
    """The types of these columns of a mapped class."""
    return {name: model.__table__.c[name].type for name in names}


@dataclass(frozen=True)
class ArrayInsert:
    """``INSERT INTO table (fields) SELECT … FROM unnest(…)``: any number of rows, one
    statement, one prepared plan."""

    name: str
    types: dict[str, TypeEngine[Any]]
    statement: Insert

    def params(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        return unnest_params(self.name, self.types, rows)


def array_insert(model: Any, name: str, fields: Sequence[str]) -> ArrayInsert:
    types = column_types(model, fields)
    rows = unnest_table(name, types)
    statement = insert(model).from_select(list(fields), select(*(rows.c[f] for f in fields)))
    return ArrayInsert(name, types, statement)
