"""The parser's rule for aggregates read from a column's histogram tree: ``MEDIAN(col)``,
``QUANTILE(col, p)`` (also ``QUANTILE_CONT``) with a number literal 0 < p < 1, ``MIN(col)`` and
``MAX(col)`` over a numeric column with declared bounds (see :mod:`privacy.quantiles`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from privacy.errors import QueryError
from privacy.plan import QUANTILE_BINS, Aggregate, ColumnSpec

TREE_FUNCS = ("median", "quantile", "min", "max")
"""Function names this module parses; MEDIAN is licensed (and planned) as kind ``quantile``."""


_ARITY = {"MEDIAN": 1, "MIN": 1, "MAX": 1, "QUANTILE": 2, "QUANTILE_CONT": 2}
_DEPTH = {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1, TokenType.L_BRACKET: 1, TokenType.R_BRACKET: -1}


def check_arity(sql: str) -> None:
    """Refuse extra arguments sqlglot would silently drop (``QUANTILE(x, 0.5, 2)``, ``MIN(x, 3)``)."""
    tokens = Dialect.get_or_raise("duckdb").tokenize(sql)
    for i, tok in enumerate(tokens[:-1]):
        name = tok.text.upper()
        if name not in _ARITY or tokens[i + 1].token_type != TokenType.L_PAREN:
            continue
        depth, args = 0, 1
        for t in tokens[i + 1:]:
            depth += _DEPTH.get(t.token_type, 0)
            if depth == 0:
                break
            args += depth == 1 and t.token_type == TokenType.COMMA
        if args > _ARITY[name]:
            raise QueryError(name, f"expects {_ARITY[name]} argument{'s' if _ARITY[name] > 1 else ''}, got {args}")


def _fraction(node: exp.Expression) -> float:
    """The literal p of QUANTILE(col, p), strictly between 0 and 1."""
    token = node.sql() if isinstance(node, exp.Expression) else str(node)
    if not isinstance(node, exp.Literal) or node.is_string:
        raise QueryError(token, "QUANTILE's p must be a number literal with 0 < p < 1")
    try:
        p = float(node.this)
    except ValueError:
        raise QueryError(token, "QUANTILE's p must be a number literal with 0 < p < 1") from None
    if not (math.isfinite(p) and 0 < p < 1):
        raise QueryError(token, "QUANTILE's p must lie strictly between 0 and 1 (use MIN or MAX for the ends)")
    return p


def tree_aggregate(func: str, args: Sequence[exp.Expression], alias: str | None,
                   column: Callable[[exp.Expression], ColumnSpec]) -> Aggregate:
    """The :class:`Aggregate` of ``func`` (one of :data:`TREE_FUNCS`) applied to ``args``."""
    name = func.upper()
    want = 2 if func == "quantile" else 1
    if len(args) != want:
        raise QueryError(name, "expects QUANTILE(col, p)" if func == "quantile" else f"expects {name}(col)")
    if isinstance(args[0], exp.Star):
        raise QueryError("*", f"{name}(*) is not allowed")
    spec = column(args[0])
    if not spec.numeric:
        raise QueryError(spec.name, f"{name} needs a numeric column")
    if func == "min" or func == "max":
        return Aggregate(func, spec.name, alias or f"{func}({spec.name})", bins=QUANTILE_BINS)
    p = 0.5 if func == "median" else _fraction(args[1])
    label = f"median({spec.name})" if func == "median" else f"quantile({spec.name},{p!r})"
    return Aggregate("quantile", spec.name, alias or label, bins=QUANTILE_BINS, p=p)
