"""A provider's rows in a PostgreSQL table or view: plans are pushed down, only aggregates come back.

Source spec: ``postgresql://user@host:port/db#schema.table`` (``postgresql+psycopg://`` is accepted too;
the password comes from the DSN, ``PGPASSWORD`` or ``~/.pgpass``, as for any libpq client). Every
statement runs on a fresh connection in a READ ONLY transaction (``default_transaction_read_only``)
with a statement timeout; the role needs only ``SELECT`` on the table (and ``USAGE`` on its schema).
The statements are :mod:`privacy.provider.pushdown`'s, rendered by sqlglot in the postgres dialect;
the result vector is the one :class:`~privacy.provider.local.LocalData` computes over the same rows.

Errors: the database unreachable while computing is :class:`~privacy.errors.SourceUnavailable` (503;
the node stays up and reconnects for the next plan); the database refusing a statement (a type
mismatch, a literal that does not cast, the timeout) is :class:`~privacy.errors.ComputeRefused` (400).
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlglot import exp

from privacy.errors import ComputeRefused, SourceUnavailable
from privacy.plan import MAX_ROWS_PER_PROVIDER, Plan
from privacy.provider.local import cells_from_rows
from privacy.provider.pushdown import NUMBER_TYPES, Pushdown

SCHEME = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://")
PART = re.compile(r"[^.\x00]{1,63}")
STATEMENT_TIMEOUT_MS = 60_000
CONNECT_TIMEOUT_S = 5


class SourceError(ValueError):
    """The source spec is malformed or the table cannot be read at start (the node does not start)."""


def is_postgres(spec: str) -> bool:
    return bool(SCHEME.match(spec))


def parse_source(spec: str) -> tuple[str, str | None, str]:
    """``(dsn, schema or None, table)`` of ``postgresql://...#[schema.]table``."""
    if not is_postgres(spec):
        raise SourceError("a PostgreSQL source starts with postgresql://")
    dsn, sep, target = spec.rpartition("#")
    if not sep or not target:
        raise SourceError("name the table after '#': postgresql://user@host:port/db#schema.table")
    parts = target.split(".")
    if len(parts) > 2 or not all(PART.fullmatch(p) for p in parts):
        raise SourceError(f"table {target!r}: expected [schema.]table, each 1..63 characters without '.'")
    dsn = SCHEME.sub("postgresql://", dsn)
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as e:
        raise SourceError(f"bad PostgreSQL DSN: {e}") from None
    return dsn, (parts[0] if len(parts) == 2 else None), parts[-1]


def where_of(dsn: str) -> str:
    """The DSN without credentials, for messages."""
    d = conninfo_to_dict(dsn)
    return f"{d.get('host') or 'localhost'}:{d.get('port') or 5432}/{d.get('dbname') or ''}"


class PostgresSource:
    """A provider's rows in one PostgreSQL table or view; only aggregates ever leave the database."""

    def __init__(self, spec: str) -> None:
        self.dsn, schema, name = parse_source(spec)
        self.table = exp.table_(name, db=schema, quoted=True)
        self.label = f"{where_of(self.dsn)}#{schema + '.' if schema else ''}{name}"
        try:
            self.types = self._describe()
        except SourceUnavailable as e:
            raise SourceError(e.detail) from None
        except ComputeRefused as e:
            raise SourceError(f"cannot read {self.label}: {e.detail}") from None
        self.columns = set(self.types)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.dsn, connect_timeout=CONNECT_TIMEOUT_S, application_name="provex-node",
                                   options=f"-c default_transaction_read_only=on "
                                           f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise SourceUnavailable(f"the provider's database {where_of(self.dsn)} cannot be reached: "
                                    f"{first}") from None

    def _run(self, statements: list[str]) -> list[list[tuple[Any, ...]]]:
        """Each statement's rows, in one read-only transaction, rolled back."""
        conn = self._connect()
        try:
            conn.read_only = True
            with conn.cursor() as cur:
                out = []
                for sql in statements:
                    cur.execute(sql.encode())
                    out.append(cur.fetchall())
                return out
        except psycopg.OperationalError as e:
            if conn.broken:
                raise SourceUnavailable(f"the connection to {where_of(self.dsn)} broke: "
                                        f"{str(e).strip()[:200]}") from None
            raise ComputeRefused(f"the provider's database refused the plan: {str(e).strip()[:200]}") from None
        except psycopg.Error as e:
            raise ComputeRefused(f"the provider's database refused the plan: {str(e).strip()[:200]}") from None
        finally:
            conn.close()

    def _describe(self) -> dict[str, str]:
        """Column name -> ``pg_type.typname`` of the table (or view)."""
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(exp.select("*").from_(self.table).where(exp.false()).sql(dialect="postgres").encode())
                names = {}
                for col in cur.description or ():
                    info = conn.adapters.types.get(col.type_code)
                    names[col.name] = info.name if info else str(col.type_code)
                return names
        except psycopg.Error as e:
            raise ComputeRefused(str(e).strip().splitlines()[0][:200]) from None
        finally:
            conn.close()

    def check_plan(self, plan: Plan) -> None:
        names = [c.name for c in plan.columns] + ([plan.privacy_unit.column] if plan.privacy_unit else [])
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise ComputeRefused(f"columns not held by this provider: {missing}")
        for c in plan.columns:
            if c.numeric and self.types[c.name] not in NUMBER_TYPES:
                raise ComputeRefused(f"column {c.name} is declared numeric but this provider holds "
                                     f"it as {self.types[c.name]}")

    def statements(self, plan: Plan, units: list[int]) -> tuple[Pushdown, list[str]]:
        """The pushed-down statements: the scalar one, then one per histogram (layout order)."""
        p = Pushdown(plan, units, self.table, self.types)
        return p, [p.scalar_sql(), *(p.hist_sql(c) for c in p.comps if c.stat == "hist")]

    def compute(self, plan: Plan, units: list[int]) -> list[int]:
        """The plan's vector (groups x component lanes) computed by the database, as LocalData's."""
        self.check_plan(plan)
        p, sqls = self.statements(plan, units)
        rows, *hists = self._run(sqls)
        hist_rows = [(i, c, h) for (i, c), h in
                     zip(((i, c) for i, c in enumerate(p.comps) if c.stat == "hist"), hists, strict=True)]
        vector = cells_from_rows(plan, rows, hist_rows)
        width = plan.layout().width
        if sum(vector[::width]) > MAX_ROWS_PER_PROVIDER:
            raise ComputeRefused("more than 2^32 rows: a provider may hold at most 2^32 rows per dataset")
        return vector
