"""Model rows for the hot paths, fetched by SQL compiled once instead of on every request.

Every API call, tokeninfo, introspection and token request looks up one token or one client. Through
the ORM, building and compiling that query costs several times what PostgreSQL needs to answer it
(bench/README.md, "Where the time goes"). Here the SELECT is written once per database vendor from the
models' own metadata, values pass through the same converters the ORM applies, and rows become model
instances with `Model.from_db`, as a queryset would make them. Same rows, same checks: only the
per-request query building is gone.
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models.fields import AutoFieldMixin
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save


class Columns:
    """The columns of `model` a query selects under a table alias, and how their values become an instance.

    `field_names` limits the columns (the others are deferred, loaded on first access as with `.only()`);
    by default every concrete field is selected.
    """

    def __init__(self, model, alias, field_names=None):
        meta = model._meta
        wanted = set(field_names) if field_names else None
        # Model.from_db takes the values of a subset of fields in the model's own field order.
        self.fields = [f for f in meta.concrete_fields if wanted is None or f.name in wanted or f.attname in wanted]
        self.model = model
        self.alias = alias
        self.table = meta.db_table
        self.attnames = [f.attname for f in self.fields]
        self.pk_index = self.attnames.index(meta.pk.attname)

    def __len__(self):
        return len(self.fields)

    def column(self, name):
        """`alias`.`column` of the field `name`, quoted for the current database."""
        quote = connection.ops.quote_name
        return f"{quote(self.alias)}.{quote(self.model._meta.get_field(name).column)}"

    def pk_column(self):
        return self.column(self.model._meta.pk.name)

    def select_list(self):
        quote = connection.ops.quote_name
        return ", ".join(f"{quote(self.alias)}.{quote(f.column)}" for f in self.fields)

    def table_as_alias(self):
        quote = connection.ops.quote_name
        return f"{quote(self.table)} {quote(self.alias)}"

    def converters(self):
        """(position, expression, converters) of each column whose values the ORM converts on this database."""
        result = []
        for i, field in enumerate(self.fields):
            expression = field.get_col(self.alias)
            column_converters = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
            if column_converters:
                result.append((i, expression, column_converters))
        return result

    def instance(self, values, converters):
        """A model instance from this part of a row, or None when its primary key is NULL (an outer join)."""
        values = list(values)
        for i, expression, column_converters in converters:
            for convert in column_converters:
                values[i] = convert(values[i], expression, connection)
        if values[self.pk_index] is None:
            return None
        return self.model.from_db(connection.alias, self.attnames, values)


# A space-separated list of a column's values, per database vendor (values must not contain spaces).
SPACE_SEPARATED_LIST = {"postgresql": "string_agg(CAST({} AS text), ' ')", "sqlite": "group_concat({}, ' ')"}


class RowQuery:
    """One SELECT of a row made of several models' columns, compiled on first use per database connection.

    `build()` returns (parts, sql): the Columns in the order the SELECT lists them, and the SQL with
    `%s` placeholders. `fetch_one(params)` returns one instance per part (None for a NULL outer join)
    followed by the raw values of any columns the SELECT lists after the parts; None when no row matched.
    """

    def __init__(self, build):
        self.build = build

    def compile(self):
        """(parts, sql, converters) for the connection of this thread; the converters are bound to it."""
        wrapper = connections[DEFAULT_DB_ALIAS]
        cache = wrapper.__dict__.setdefault("_compiled_row_queries", {})
        if self not in cache:
            parts, sql = self.build()
            cache[self] = (parts, sql, [part.converters() for part in parts])
        return cache[self]

    def fetch_one(self, params):
        parts, sql, converters = self.compile()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        instances, start = [], 0
        for part, part_converters in zip(parts, converters):
            instances.append(part.instance(row[start:start + len(part)], part_converters))
            start += len(part)
        return instances + list(row[start:])


def insert_once(model, values, *, unique, reusable_before=None):
    """INSERT one row of `model` unless a row with the same `unique` field value exists: True if inserted.

    One statement (INSERT ... ON CONFLICT), decided by the unique index: of concurrent calls in any
    number of processes exactly one inserts, and a loser gets False, not an IntegrityError, so no
    transaction or savepoint is needed around it. `reusable_before=(field_name, instant)`: an existing
    row whose field is earlier than `instant` is taken over (updated to `values`) as if it were absent.
    `values` maps field names to values; the other fields take their defaults, as with save().
    """
    reusable_field, instant = reusable_before or (None, None)
    fields, sql = _insert_once_sql(model, unique, reusable_field, connection.vendor)
    params = _row(model(**values), fields)
    if reusable_field is not None:
        params.append(model._meta.get_field(reusable_field).get_db_prep_save(instant, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def insert(instance):
    """Save a new model instance as `instance.save(force_insert=True)` would, by SQL compiled once per model.

    Every field's pre_save runs (auto_now(_add), DOT's token checksum), values are prepared as the ORM
    prepares them, and the instance gets its primary key. Models with pre_save/post_save receivers, or
    fields the database fills (db_default, generated), go through save() as before.
    """
    model = type(instance)
    if not _compiled_insert_possible(model):
        instance.save(force_insert=True)
        return instance
    fields, sql = _insert_sql(model, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {connection.ops.quote_name(model._meta.pk.column)}", _row(instance, fields))
        return _saved(instance, cursor.fetchone()[0])


def _compiled_insert_possible(model):
    return not (pre_save.has_listeners(model) or post_save.has_listeners(model)) and _plain_insert_possible(model)


def _saved(instance, pk):
    setattr(instance, type(instance)._meta.pk.attname, pk)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def insert_together(*instances):
    """Save several new model instances all or none, as `insert` saves one; returns them.

    The rows must not refer to one another (a ValueError says so, as save() would). On PostgreSQL they go
    in one statement (each INSERT a data-modifying WITH clause), which is atomic on its own: outside a
    transaction, one round trip where BEGIN, an INSERT per row and COMMIT would be several. Elsewhere, or
    when a model needs save() (see `insert`), they are inserted one by one inside transaction.atomic().
    """
    if connection.vendor != "postgresql" or not all(_compiled_insert_possible(type(i)) for i in instances):
        for instance in instances:  # refused before any row is written, as the one statement would be
            instance._prepare_related_fields_for_save(operation_name="insert")
        with transaction.atomic():
            return [insert(instance) for instance in instances]
    fields_per_model, sql = insert_together_sql(*(type(instance) for instance in instances))
    params = []
    for instance, fields in zip(instances, fields_per_model):
        params += _row(instance, fields)  # checks the instance's related objects: all before the statement
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pks = cursor.fetchone()
    for instance, pk in zip(instances, pks):
        _saved(instance, pk)
    return list(instances)


def insert_together_sql(*models):
    """(fields of each model, SQL) of insert_together's one statement (PostgreSQL) for a row of each of `models`:
    `WITH r0 AS (INSERT ... RETURNING pk), ... SELECT (SELECT pk FROM r0), ...`, parameters in field order."""
    return _insert_together_sql(models, connection.vendor)


@functools.cache
def _insert_together_sql(models, vendor):
    quote = connection.ops.quote_name
    fields_per_model, clauses, selected = [], [], []
    for n, model in enumerate(models):
        fields, sql = _insert_sql(model, vendor)
        pk = quote(model._meta.pk.column)
        fields_per_model.append(fields)
        clauses.append(f"r{n} AS ({sql} RETURNING {pk})")
        selected.append(f"(SELECT {pk} FROM r{n})")
    return tuple(fields_per_model), f"WITH {', '.join(clauses)} SELECT {', '.join(selected)}"


def delete_unreferenced(queryset):
    """Delete the rows of `queryset`, which nothing refers to any more, with one DELETE; returns how many.

    queryset.delete() would first load every row for Django's collector. When a pre_delete/post_delete
    receiver listens, it still goes that way, so receivers see every deleted row.
    """
    model = queryset.model
    if deletes_are_heard(model):
        _total, per_model = queryset.delete()
        return per_model.get(model._meta.label, 0)
    return queryset._raw_delete(queryset.db)


def deletes_are_heard(model):
    """Does a pre_delete or post_delete receiver listen for `model`? Then deletes must go through the ORM."""
    return pre_delete.has_listeners(model) or post_delete.has_listeners(model)


def _row(instance, fields):
    """The values of `fields` for a new row, as save() prepares them (pre_save: defaults, auto_now, checksums)."""
    # As save(): a related object without a key (not saved yet, or saved in the same insert_together) is an
    # error, never a silently NULL foreign key.
    instance._prepare_related_fields_for_save(operation_name="insert")
    return [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields]


@functools.cache
def _plain_insert_possible(model):
    pk = model._meta.pk
    return isinstance(pk, AutoFieldMixin) and not any(
        field.db_default is not models.NOT_PROVIDED or field.generated for field in model._meta.concrete_fields
    )


@functools.cache
def _insert_sql(model, vendor):
    """(fields, "INSERT INTO table (columns) VALUES (%s, ...)") for every concrete field but the primary key."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
           f" VALUES ({', '.join(['%s'] * len(fields))})")
    return fields, sql


@functools.cache
def _insert_once_sql(model, unique, reusable_field, vendor):
    meta = model._meta
    quote = connection.ops.quote_name
    fields, sql = _insert_sql(model, vendor)
    conflict = quote(meta.get_field(unique).column)
    if reusable_field is None:
        sql += f" ON CONFLICT ({conflict}) DO NOTHING"
    else:
        updates = ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in fields)
        sql += (f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
                f" WHERE {quote(meta.db_table)}.{quote(meta.get_field(reusable_field).column)} < %s")
    return fields, f"{sql} RETURNING {quote(meta.pk.column)}"
