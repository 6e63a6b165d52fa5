"""Query language: accepted forms, canonical plans, precise refusals, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.errors import PrivacyError, QueryError
from privacy.plan import ColumnSpec, Plan
from privacy.sql import parse_query
from tests.privacy.conftest import COLUMNS


def test_plan_is_canonical_and_hashable() -> None:
    a = parse_query("SELECT COUNT(*), SUM(age), region FROM t WHERE age > 3 GROUP BY region",
                    COLUMNS)
    b = parse_query("select count(*) ,  sum( AGE ) , Region from T where AGE>3 group by REGION",
                    COLUMNS)
    assert a == b and hash(a) == hash(b) and a.hash() == b.hash()
    assert a.canonical() == b.canonical()
    assert " " not in a.canonical() and a.canonical().startswith('{"aggregates":')
    assert Plan.from_dict(a.to_dict()) == a
    c = parse_query("SELECT COUNT(*), SUM(age), region FROM t WHERE age > 4 GROUP BY region",
                    COLUMNS)
    assert c.hash() != a.hash()
    assert a.kinds == {"count", "sum"}
    assert len(a.hash()) == 64


def test_all_kinds_and_conditions() -> None:
    plan = parse_query(
        "SELECT COUNT(*), COUNT(income), SUM(score), AVG(income), VAR(age), VARIANCE(age) AS v2,"
        " STDDEV(age), STDDEV_SAMP(score) AS s2, HISTOGRAM(age, 0, 100, 10), region, level "
        "FROM t WHERE (age BETWEEN 1 AND 5 OR score IN (-1, 2)) AND region = 'north' "
        "AND 3 < age AND income != 2.5 GROUP BY region, level",
        COLUMNS,
    )
    assert plan.kinds == {"count", "sum", "avg", "var", "stddev", "histogram"}
    assert plan.group_by == ("region", "level")
    assert len(plan.groups()) == 12
    assert plan.vector_length() == 12 * plan.lanes_per_group()
    where = plan.to_dict()["where"]
    assert where["op"] == "and" and len(where["args"]) == 4
    assert where["args"][2] == {"op": "cmp", "column": "age", "cmp": ">", "values": [3]}
    assert where["args"][0]["args"][1] == {"op": "in", "column": "score", "values": [-1, 2]}


def test_quantile_kinds_share_one_tree_per_column() -> None:
    plan = parse_query("SELECT MEDIAN(age), QUANTILE_CONT(age, 0.9) AS p90, MIN(age), MAX(income) FROM t", COLUMNS)
    assert plan.kinds == {"quantile", "min", "max"}
    assert [(a.kind, a.alias, a.p) for a in plan.aggregates] == [
        ("quantile", "median(age)", 0.5), ("quantile", "p90", 0.9), ("min", "min(age)", None),
        ("max", "max(income)", None)]
    assert [(c.stat, c.column, c.bins) for c in plan.components()] == [
        ("count_star", None, None), *((("hist", "age", 2**j)) for j in range(1, 9)), ("count", "age", None),
        *((("hist", "income", 2**j)) for j in range(1, 9)), ("count", "income", None)]
    assert Plan.from_dict(plan.to_dict()) == plan and plan.to_dict()["aggregates"][1]["p"] == 0.9
    with pytest.raises(QueryError) as e:
        parse_query("SELECT MEDIAN(age) FROM t", COLUMNS, allowed_kinds={"count", "min"})
    assert e.value.token == "MEDIAN" and "not allowed by the license" in e.value.reason


REFUSALS = [
    ("SELECT age FROM t", "age", "row selection"),
    ("SELECT * FROM t", "*", "row selection"),
    ("SELECT COUNT(*) FROM t JOIN u ON t.a = u.a", "JOIN", "not allowed"),
    ("SELECT COUNT(*) FROM t, u", "JOIN", "not allowed"),
    ("SELECT COUNT(*) FROM (SELECT * FROM t)", "(SELECT * FROM t)", "subqueries"),
    ("SELECT COUNT(*) FROM t WHERE age IN (SELECT age FROM t)", "IN", "subqueries"),
    ("SELECT MODE(age) FROM t", "MODE", "function not allowed"),
    ("SELECT QUANTILE(age) FROM t", "QUANTILE", "QUANTILE(col, p)"),
    ("SELECT QUANTILE(age, 1) FROM t", "1", "strictly between 0 and 1"),
    ("SELECT QUANTILE(age, -0.5) FROM t", "-0.5", "0 < p < 1"),
    ("SELECT QUANTILE(age, 'half') FROM t", "'half'", "number literal"),
    ("SELECT QUANTILE(age, score) FROM t", "score", "number literal"),
    ("SELECT QUANTILE(age, 0.5, 2) FROM t", "QUANTILE", "expects 2 arguments"),
    ("SELECT MIN(age, 3) FROM t", "MIN", "expects 1 argument"),
    ("SELECT MEDIAN(region) FROM t", "region", "numeric"),
    ("SELECT MAX(*) FROM t", "*", "not allowed"),
    ("SELECT COUNT(*) FROM t WHERE ABS(score) > 1", "ABS", "function not allowed"),
    ("SELECT SUM(ssn) FROM t", "ssn", "unknown column"),
    ("SELECT SUM(region) FROM t", "region", "numeric"),
    ("SELECT COUNT(*) FROM t GROUP BY age", "age", "public domain"),
    ("SELECT COUNT(*) FROM t ORDER BY 1", "ORDER BY", "not allowed"),
    ("SELECT COUNT(*) FROM t LIMIT 5", "LIMIT", "not allowed"),
    ("SELECT COUNT(*) FROM t HAVING COUNT(*) > 1", "HAVING", "not allowed"),
    ("SELECT COUNT(DISTINCT age) FROM t", "DISTINCT", "distinct"),
    ("SELECT COUNT(*) FROM t WHERE NOT age = 1", "NOT", "negation"),
    ("SELECT COUNT(*) FROM t WHERE age = score", "score", "literal"),
    ("SELECT COUNT(*) FROM t; DELETE FROM t", ";", "one statement"),
    ("DELETE FROM t", "DELETE", "only SELECT"),
    ("SELECT COUNT(*) FROM t UNION SELECT COUNT(*) FROM t", "UNION", "set operations"),
    ("WITH x AS (SELECT 1) SELECT COUNT(*) FROM x", "WITH", "not allowed"),
    ("SELECT SUM(age) OVER () FROM t", "OVER", "window"),
    ("SELECT HISTOGRAM(age, 0, 100, 0) FROM t", "0", "bins"),
    ("SELECT HISTOGRAM(age, 5, 1, 3) FROM t", "5, 1", "lo < hi"),
    ("SELECT COUNT(*) FROM t WHERE region > 'a'", ">", "ordering comparison"),
    ("SELECT COUNT(*) FROM t WHERE age > 'x'", "x", "numeric"),
    ("SELECT COUNT(*) FROM", "FROM", "syntax error: Expected table name but got end of input"),
    ("", "", "empty query"),
]


@pytest.mark.parametrize(("sql", "token", "reason"), REFUSALS)
def test_refusals_name_token_and_reason(sql: str, token: str, reason: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(sql, COLUMNS)
    err = info.value
    assert err.token == token, err
    assert reason in err.reason, err
    assert err.code == "invalid_query" and err.to_dict()["detail"] == f"{token!r}: {err.reason}"


def test_license_restricts_columns_and_kinds() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("SELECT SUM(income) FROM t", COLUMNS, allowed_columns={"age"})
    assert (info.value.token, info.value.reason) == ("income", "column not allowed by the license")
    with pytest.raises(QueryError) as info:
        parse_query("SELECT COUNT(*) FROM t WHERE income > 1", COLUMNS, allowed_columns={"age"})
    assert info.value.token == "income"
    with pytest.raises(QueryError) as info:
        parse_query("SELECT HISTOGRAM(age, 0, 1, 2) FROM t", COLUMNS, allowed_kinds={"count"})
    assert info.value.token == "HISTOGRAM" and "license" in info.value.reason
    assert parse_query("SELECT COUNT(*) FROM t", COLUMNS, allowed_columns=set(),
                       allowed_kinds={"count"}).kinds == {"count"}
    with pytest.raises(QueryError):
        parse_query("SELECT COUNT(*) FROM other", COLUMNS, table="t")


def test_column_spec_validation() -> None:
    with pytest.raises(ValueError):
        ColumnSpec("x", "int")
    with pytest.raises(ValueError):
        ColumnSpec("x", "float", 0, float("inf"))
    spec = ColumnSpec("g", "category", domain=["a", "b"])
    assert spec.domain == ("a", "b") and spec.scale == 1
    assert ColumnSpec("f", "float", 0, 1).scale == 100


TOKENS = ["SELECT", "COUNT(*)", "SUM(age)", "AVG(income)", "HISTOGRAM(age,0,9,3)", "age",
          "region", "FROM", "t", "WHERE", "GROUP", "BY", "AND", "OR", "NOT", "IN", "(", ")",
          ",", "=", "<", ">", "1", "-2.5", "'north'", "BETWEEN", "JOIN", "ON", "*", ";",
          "ORDER", "LIMIT", "UNION", "SELECT(", "NULL", "IS", "level", "AS", "x", "--", "/*"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_fuzzed_token_soup_never_crashes(tokens: list[str]) -> None:
    try:
        plan = parse_query(" ".join(tokens), COLUMNS)
    except QueryError as e:
        assert isinstance(e, PrivacyError) and e.reason
    else:
        assert plan.kinds and len(plan.hash()) == 64


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzzed_text_never_crashes(text: str) -> None:
    try:
        parse_query(text, COLUMNS)
    except QueryError as e:
        assert e.reason
