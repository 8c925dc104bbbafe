"""Set-based writes on PostgreSQL: many rows as one statement with one parameter per column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, column, func
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
