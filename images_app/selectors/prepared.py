"""Reads every request makes, their SQL worked out once per process instead of once per request.

Each page reads the same few rows the same way: its session, its user, the user's role, its
environment and the watcher's, update check's and inventory's rows, the running pulls. The ORM
builds and compiles every query again each time, which costs ten to twenty times what the
database spends answering (0.25-0.75 ms a query against 15-30 us on SQLite), and under load
each of those milliseconds is a wait for the process's GIL that the other pages share
(bench.load). A PreparedRows is one such read written once: its text comes from the model's own
table and column names, what each column needs converting with (dates on SQLite...) is found
once per database connection, and rows become model instances through Model.from_db, as the
ORM makes them. Values are passed as parameters, adapted by their fields as the ORM does.

Only fixed shapes belong here, each with a test that it returns what its ORM query returns
(tests/integration/test_prepared_reads.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col

ModelT = TypeVar("ModelT", bound=models.Model)
_Link = models.OneToOneField[Any, Any]
Converter = Callable[[Any, Col, BaseDatabaseWrapper], Any]


@dataclass(frozen=True)
class _Joined:
    """The columns of a joined model in a statement's rows: where they start and how they become its instance."""

    model: type[models.Model]
    start: int
    attnames: tuple[str, ...]
    pk_position: int  # in attnames: NULL there is a joined row that is not there
    link: _Link  # the joined model's field pointing at the model read


@dataclass(frozen=True)
class _Compiled:
    sql: str
    attnames: tuple[str, ...]  # the model read's, first in each row
    joined: tuple[_Joined, ...]
    converters: tuple[tuple[int, tuple[Converter, ...], Col], ...]
    param_fields: tuple[models.Field[Any, Any], ...]


def quoted_table(model: type[models.Model], connection: BaseDatabaseWrapper) -> str:
    """The model's table name, quoted for `connection`'s database (for fixed statements' text)."""
    return connection.ops.quote_name(model._meta.db_table)


def quoted_column(model: type[models.Model], name: str, connection: BaseDatabaseWrapper) -> str:
    """The column of the model's concrete field `name` (or attribute name), quoted for `connection`."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column, field  # a concrete field, so with a column
    return connection.ops.quote_name(field.column)


class PreparedRows(Generic[ModelT]):
    """SELECT rows of `model` WHERE `where` [ORDER BY `order_by`] [LIMIT `limit`], compiled once.

    `where` and `order_by` name columns by attribute in braces ("{environment_id} = %s") and
    take values as %s; `params` names the field of each %s, in order, for adapting its value.
    Fields in `leave_out` are not read (deferred, as QuerySet.defer leaves them).

    `with_related` names reverse one-to-one relations of `model` read in the same statement
    (LEFT JOIN), each with the fields it leaves out: every row comes with them cached, or None
    where there is none, as select_related leaves them (one statement instead of one a relation).
    """

    def __init__(
        self,
        model: type[ModelT],
        where: str,
        *,
        params: Sequence[str],
        order_by: str = "",
        limit: int | None = None,
        leave_out: Collection[str] = (),
        with_related: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.model = model
        self.where = where
        self.params = tuple(params)
        self.order_by = order_by
        self.limit = limit
        self.leave_out = frozenset(leave_out)
        self.with_related = {relation: frozenset(left) for relation, left in (with_related or {}).items()}
        # Per connection: the text is the backend's and converters are its bound methods.
        self._compiled: WeakKeyDictionary[BaseDatabaseWrapper, _Compiled] = WeakKeyDictionary()

    def _compile(self, connection: BaseDatabaseWrapper) -> _Compiled:
        selected: list[str] = []
        converters: list[tuple[int, tuple[Converter, ...], Col]] = []

        def select(model: type[models.Model], leave_out: frozenset[str]) -> tuple[str, ...]:
            """Add the model's columns to the statement; their attribute names."""
            meta = model._meta
            fields = [field for field in meta.concrete_fields if field.attname not in leave_out]
            table = quoted_table(model, connection)
            for position, field in enumerate(fields, len(selected)):
                selected.append(f"{table}.{quoted_column(model, field.name, connection)}")
                column = field.get_col(meta.db_table)
                found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if found:
                    converters.append((position, tuple(found), column))
            return tuple(field.attname for field in fields)

        table = quoted_table(self.model, connection)
        attnames = select(self.model, self.leave_out)
        joined = []
        joins = []
        for relation, leave_out in self.with_related.items():
            link = _reverse_one_to_one(self.model, relation)
            start = len(selected)
            joined_attnames = select(link.model, leave_out)
            pk = link.model._meta.pk
            if pk is None or pk.attname not in joined_attnames:
                raise ValueError(f"{link.model.__name__}'s primary key must be read")
            joined.append(_Joined(link.model, start, joined_attnames, joined_attnames.index(pk.attname), link))
            joins.append(
                " LEFT JOIN {other} ON {other}.{column} = {table}.{target}".format(
                    other=quoted_table(link.model, connection),
                    column=quoted_column(link.model, link.name, connection),
                    table=table,
                    target=quoted_column(self.model, link.target_field.name, connection),
                )
            )
        columns = {
            field.attname: f"{table}.{quoted_column(self.model, field.name, connection)}"
            for field in self.model._meta.concrete_fields
        }
        # Only the models' own table and column names, quoted: no value ever reaches this text.
        sql = "SELECT {} FROM {}{} WHERE {}".format(  # noqa: S608
            ", ".join(selected), table, "".join(joins), self.where.format_map(columns)
        )
        if self.order_by:
            sql += " ORDER BY " + self.order_by.format_map(columns)
        if self.limit is not None:
            sql += f" LIMIT {int(self.limit)}"
        if sql.count("%s") != len(self.params):
            raise ValueError(f"{len(self.params)} parameter fields for the %s of {sql!r}")
        by_attname = {field.attname: field for field in self.model._meta.concrete_fields}
        return _Compiled(
            sql=sql,
            attnames=attnames,
            joined=tuple(joined),
            converters=tuple(converters),
            param_fields=tuple(by_attname[name] for name in self.params),
        )

    def all(self, *values: object) -> list[ModelT]:
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(connection)
        params = [
            field.get_db_prep_value(value, connection, prepared=False)
            for field, value in zip(compiled.param_fields, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        own = len(compiled.attnames)
        found = []
        for row in rows:
            values_read = list(row)
            for position, converters, column in compiled.converters:
                value = values_read[position]
                for convert in converters:
                    value = convert(value, column, connection)
                values_read[position] = value
            instance = self.model.from_db(alias, compiled.attnames, values_read[:own])
            for joined in compiled.joined:
                part = values_read[joined.start : joined.start + len(joined.attnames)]
                missing = part[joined.pk_position] is None  # the LEFT JOIN found no row
                related = None if missing else joined.model.from_db(alias, joined.attnames, part)
                # As select_related leaves them: the row (or None) cached on the instance, and back.
                joined.link.remote_field.set_cached_value(instance, related)
                if related is not None:
                    joined.link.set_cached_value(related, instance)
            found.append(instance)
        return found

    def first(self, *values: object) -> ModelT | None:
        found = self.all(*values)
        return found[0] if found else None


def _reverse_one_to_one(model: type[models.Model], relation: str) -> _Link:
    """The OneToOneField (on the other model) behind `model`'s reverse relation `relation`."""
    link = model._meta.get_field(relation).remote_field
    if not isinstance(link, models.OneToOneField):
        raise ValueError(f"{model.__name__}.{relation} is not a reverse one-to-one relation")
    return link
