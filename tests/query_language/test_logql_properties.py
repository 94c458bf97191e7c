"""Properties of LogQL: every AST prints to text that parses back to it; no text escapes
QueryError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from query_language import Matcher, Op, QueryError, Selector, compile_logql, parse_logql
from query_language.ast import BARE_FIELD
from query_language.logql_ast import (
    ArithmeticOp,
    BinaryOp,
    CmpOp,
    DropErrors,
    Grouping,
    LabelFilterAnd,
    LabelFilterOr,
    LabelFilterStage,
    LineFilter,
    LineOp,
    LogQuery,
    NumberLiteral,
    NumericFilter,
    ParserStage,
    RangeAggregation,
    RangeFunction,
    VectorAggregation,
    VectorLiteral,
    VectorOp,
)
from tests.query_language.conftest import FakeCatalogue

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
names = st.from_regex(BARE_FIELD, fullmatch=True).filter(
    lambda n: n not in ("json", "logfmt", "drop"))
field_names = st.one_of(names, st.sampled_from(["action", "actor_id", "json", "drop",
                                                "labels_team"]),
                        text)
numbers = st.one_of(st.integers(0, 10**6).map(float),
                    st.floats(0, 1e6, allow_nan=False, allow_infinity=False))
matchers = st.builds(Matcher, field_names, st.sampled_from(list(Op)), text)
selectors = st.builds(Selector, st.lists(matchers, max_size=4).map(tuple))
label_filters = st.recursive(
    st.one_of(matchers, st.builds(NumericFilter, names, st.sampled_from(list(CmpOp)), numbers)),
    lambda inner: st.one_of(st.builds(LabelFilterAnd, inner, inner),
                            st.builds(LabelFilterOr, inner, inner)),
    max_leaves=4)
stages = st.one_of(
    st.builds(LineFilter, st.sampled_from(list(LineOp)), text),
    st.builds(ParserStage, st.sampled_from(["json", "logfmt"])),
    st.sampled_from([DropErrors(("__error__",)), DropErrors(("__error_details__", "__error__"))]),
    st.builds(LabelFilterStage, label_filters),
)
log_queries = st.builds(LogQuery, selectors, st.lists(stages, max_size=4).map(tuple))
ranges = st.builds(RangeAggregation, st.sampled_from(list(RangeFunction)), log_queries,
                   st.integers(1, 400 * 86_400_000))
groupings = st.builds(Grouping, st.booleans(), st.lists(names, max_size=3, unique=True).map(tuple))


def _vector(inner: Any) -> Any:
    plain = st.builds(VectorAggregation, st.sampled_from(
        [VectorOp.SUM, VectorOp.COUNT, VectorOp.AVG, VectorOp.MIN, VectorOp.MAX]), inner,
        st.none() | groupings, st.none())
    ranked = st.builds(VectorAggregation, st.sampled_from([VectorOp.TOPK, VectorOp.BOTTOMK]),
                       inner, st.none() | groupings, st.integers(1, 10_000))
    return plain | ranked


metrics = st.recursive(ranges, _vector, max_leaves=3)
literals = st.recursive(
    st.one_of(st.builds(NumberLiteral, numbers), st.builds(VectorLiteral, numbers)),
    lambda inner: st.builds(BinaryOp, st.sampled_from(list(ArithmeticOp)), inner, inner),
    max_leaves=5)
expressions = st.one_of(log_queries, metrics, literals)


@settings(max_examples=400, deadline=None)
@given(expressions)
def test_to_string_parses_back_to_the_same_ast(expr: Any) -> None:
    printed = expr.to_string()
    assert parse_logql(printed) == expr
    assert parse_logql(printed).to_string() == printed


logql_alphabet = st.sampled_from([
    *'{}()[]|=!~<>,"`\\ 0159.', "count_over_time(", "rate(", "sum", " by ", "without",
    "topk(", "vector(", "json", "| line_format", "| drop __error__", "5m", "action", "or",
    "and", "+", "^", "offset", "é", "\ud800",
])
logql_like = st.lists(logql_alphabet, max_size=30).map("".join)
CATALOGUE = FakeCatalogue()


@settings(max_examples=400, deadline=None)
@given(st.one_of(logql_like, text))
def test_any_text_parses_and_compiles_or_raises_a_query_error(source: str) -> None:
    try:
        compile_logql(parse_logql(source), CATALOGUE, line_field="line")
    except QueryError as exc:
        json.dumps(exc.as_dict())
