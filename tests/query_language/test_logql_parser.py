"""parse_logql(): the LogQL subset's syntax, canonical printing, and its errors."""

from __future__ import annotations

import pytest

from query_language import (
    Matcher,
    Op,
    QuerySyntaxError,
    Selector,
    UnsupportedLogQLError,
    parse_logql,
)
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
    format_duration,
)

SEL = Selector((Matcher("action", Op.EQ, "login"),))
LOG = LogQuery(SEL)

PARSE_CASES = [
    ('{action="login"}', LOG),
    ("{}", LogQuery(Selector())),
    ('{action="login", actor_id!~"svc-.*",}', LogQuery(Selector((
        Matcher("action", Op.EQ, "login"), Matcher("actor_id", Op.NRE, "svc-.*"))))),
    ('{action="login"} |= "denied" != `x` |~ "(?i)a" !~ \'b\'', LogQuery(SEL, (
        LineFilter(LineOp.CONTAINS, "denied"), LineFilter(LineOp.NOT_CONTAINS, "x"),
        LineFilter(LineOp.MATCHES, "(?i)a"), LineFilter(LineOp.NOT_MATCHES, "b")))),
    ('{action="login"} | json | logfmt', LogQuery(SEL, (ParserStage("json"),
                                                        ParserStage("logfmt")))),
    # Grafana's Logs Drilldown appends this; no stage here fails, so it is a no-op.
    ('{action="login"} | json | drop __error__, __error_details__', LogQuery(SEL, (
        ParserStage("json"), DropErrors(("__error__", "__error_details__"))))),
    ('{action="login"} | outcome="failure"', LogQuery(SEL, (
        LabelFilterStage(Matcher("outcome", Op.EQ, "failure")),))),
    ('{action="login"} | purpose >= 400', LogQuery(SEL, (
        LabelFilterStage(NumericFilter("purpose", CmpOp.GE, 400)),))),
    ('{action="login"} | purpose = 4', LogQuery(SEL, (
        LabelFilterStage(NumericFilter("purpose", CmpOp.EQ, 4)),))),
    ('{action="login"} | a="1", b="2" or c!="3"', LogQuery(SEL, (LabelFilterStage(
        LabelFilterOr(LabelFilterAnd(Matcher("a", Op.EQ, "1"), Matcher("b", Op.EQ, "2")),
                      Matcher("c", Op.NE, "3"))),))),
    ('{action="login"} | a="1" and (b="2" or c < 3)', LogQuery(SEL, (LabelFilterStage(
        LabelFilterAnd(Matcher("a", Op.EQ, "1"), LabelFilterOr(
            Matcher("b", Op.EQ, "2"), NumericFilter("c", CmpOp.LT, 3)))),))),
    ('count_over_time({action="login"}[5m])',
     RangeAggregation(RangeFunction.COUNT_OVER_TIME, LOG, 300_000)),
    ('rate({action="login"} |= "x" [1h30m])', RangeAggregation(
        RangeFunction.RATE, LogQuery(SEL, (LineFilter(LineOp.CONTAINS, "x"),)), 5_400_000)),
    ('bytes_over_time({action="login"}[250ms])',
     RangeAggregation(RangeFunction.BYTES_OVER_TIME, LOG, 250)),
    ('sum by (action) (count_over_time({action="login"}[1m]))', VectorAggregation(
        VectorOp.SUM, RangeAggregation(RangeFunction.COUNT_OVER_TIME, LOG, 60_000),
        Grouping(False, ("action",)))),
    # Grafana writes the grouping after the expression too.
    ('sum(count_over_time({action="login"}[1m])) without (actor_id, actor_id)',
     VectorAggregation(VectorOp.SUM,
                       RangeAggregation(RangeFunction.COUNT_OVER_TIME, LOG, 60_000),
                       Grouping(True, ("actor_id",)))),
    ('topk(3, sum by (actor_id) (rate({action="login"}[1h])))', VectorAggregation(
        VectorOp.TOPK, VectorAggregation(
            VectorOp.SUM, RangeAggregation(RangeFunction.RATE, LOG, 3_600_000),
            Grouping(False, ("actor_id",))), None, 3)),
    ('count by () (rate({action="login"}[1m]))', VectorAggregation(
        VectorOp.COUNT, RangeAggregation(RangeFunction.RATE, LOG, 60_000), Grouping(False, ()))),
    # Grafana's data source test (grafana pkg/tsdb/loki/healthcheck.go).
    ("vector(1)+vector(1)", BinaryOp(ArithmeticOp.ADD, VectorLiteral(1), VectorLiteral(1))),
    ("2 * (3 + 1)", BinaryOp(ArithmeticOp.MUL, NumberLiteral(2),
                             BinaryOp(ArithmeticOp.ADD, NumberLiteral(3), NumberLiteral(1)))),
    ("2 ^ 3 ^ 2", BinaryOp(ArithmeticOp.POW, NumberLiteral(2),
                           BinaryOp(ArithmeticOp.POW, NumberLiteral(3), NumberLiteral(2)))),
    ("1.5e3", NumberLiteral(1500.0)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parse(text: str, expected: object) -> None:
    assert parse_logql(text) == expected


ROUND_TRIPS = [
    ('{action="login"}', '{action="login"}'),
    ("{ }", "{}"),
    ("{action='login',actor_id=~`a|b`,}", '{action="login", actor_id=~"a|b"}'),
    ('{a="b"}|="x"!=`y`|json|logfmt', '{a="b"} |= "x" != "y" | json | logfmt'),
    ('{a="b"}|drop __error__,__error__', '{a="b"} | drop __error__'),
    ("{a=\"b\"} | 'json'=\"x\" | `drop`=\"y\"", '{a="b"} | "json"="x" | "drop"="y"'),
    ('{a="b"} | c="1" , d>=2 or e!=3', '{a="b"} | c="1" and d >= 2 or e != 3'),
    ('{a="b"} | (c="1" or d="2") and e="3"', '{a="b"} | (c="1" or d="2") and e="3"'),
    ('{a="b"} | c="1" or (d="2" or e="3")', '{a="b"} | c="1" or (d="2" or e="3")'),
    ('{a="b"} | c = 2.50', '{a="b"} | c == 2.5'),
    ('count_over_time( {a="b"} [90s] )', 'count_over_time({a="b"}[1m30s])'),
    ('rate({a="b"}[60m])', 'rate({a="b"}[1h])'),
    ('sum(rate({a="b"}[1m])) by (x,y)', 'sum by (x, y) (rate({a="b"}[1m]))'),
    ('bottomk(2,count without(x)(bytes_rate({a="b"}[1d])))',
     'bottomk(2, count without (x) (bytes_rate({a="b"}[1d])))'),
    ("vector(1)+vector(1)", "vector(1) + vector(1)"),
    ("(1+2)*3", "(1 + 2) * 3"),
    ("1-(2-3)", "1 - (2 - 3)"),
    ("(2^3)^2", "(2 ^ 3) ^ 2"),
    ("0.25", "0.25"),
]


@pytest.mark.parametrize(("text", "canonical"), ROUND_TRIPS, ids=[c[0] for c in ROUND_TRIPS])
def test_canonical_text_round_trips(text: str, canonical: str) -> None:
    expr = parse_logql(text)
    assert expr.to_string() == canonical
    assert parse_logql(canonical) == expr


@pytest.mark.parametrize(("ms", "text"), [(0, "0s"), (250, "250ms"), (90_000, "1m30s"),
                                          (86_400_000 * 8, "1w1d"), (3_600_001, "1h1ms")])
def test_format_duration(ms: int, text: str) -> None:
    assert format_duration(ms) == text


UNSUPPORTED = [
    ('{a="b"} | line_format "{{.a}}"', "line_format", 11),
    ('{a="b"} | label_format x=y', "label_format", 11),
    ('{a="b"} | pattern "<ip>"', "pattern", 11),
    ('{a="b"} | regexp "(?P<x>.)"', "regexp", 11),
    ('{a="b"} | unpack', "unpack", 11),
    ('{a="b"} | drop x', "drop", 11),
    ('sum_over_time({a="b"} | unwrap x [5m])', "sum_over_time", 1),
    ('quantile_over_time(0.9, {a="b"}[5m])', "quantile_over_time", 1),
    ('absent_over_time({a="b"}[5m])', "absent_over_time", 1),
    ('stddev(rate({a="b"}[5m]))', "stddev", 1),
    ('sort(rate({a="b"}[5m]))', "sort", 1),
    ('rate({a="b"}[5m] offset 1h)', "offset", 18),
    ('{a="b"} |> "<_> x"', "pattern filter |>", 9),
    ('{a="b"} |= "x" or "y"', "or", 16),
    ('{a="b"} | json x="y"', "json parameters", 11),
    ('sum(rate({a="b"}[5m])) / sum(rate({a="b"}[5m]))', "binary operator /", 24),
    ('rate({a="b"}[5m]) > 2', "comparison operator >", 19),
    ('rate({a="b"}[5m]) or rate({a="c"}[5m])', "or", 19),
    ('rate({a="b"}[5m]) and rate({a="c"}[5m])', "and", 19),
]


@pytest.mark.parametrize(("text", "construct", "column"),
                         UNSUPPORTED, ids=[c[0] for c in UNSUPPORTED])
def test_unsupported_constructs_are_named(text: str, construct: str, column: int) -> None:
    with pytest.raises(UnsupportedLogQLError) as caught:
        parse_logql(text)
    err = caught.value
    assert err.construct == construct
    assert (err.line, err.column) == (1, column)
    assert "is not supported" in err.message
    assert err.as_dict()["construct"] == construct
    assert isinstance(err, QuerySyntaxError)


SYNTAX_ERRORS = [
    ("", "empty query", 1, 1),
    ("   ", "empty query", 1, 1),
    ('action="login"', "unexpected", 1, 1),  # LogQL needs the braces
    ('{a="b"', "unexpected end of input; expected ',' or '}'", 1, 7),
    ('{a="b"} | foo', "unexpected end of input", 1, 14),
    ('{a="b"} |= x', "expected string", 1, 12),
    ('{a="b} ', "unterminated string", 1, 4),
    ('rate({a="b"}[5m1h])', "units must go from largest to smallest", 1, 14),
    ('rate({a="b"}[0s])', "it must be positive", 1, 14),
    ('rate({a="b"})', "expected", 1, 13),
    ('sum({a="b"})', "not log lines", 1, 1),
    ('sum by (a) (rate({a="b"}[1m])) by (b)', "one by/without clause", 1, 1),
    ('topk(0, rate({a="b"}[1m]))', "whole number from 1", 1, 6),
    ('topk(1.5, rate({a="b"}[1m]))', "whole number from 1", 1, 6),
    ('{a="b"} | c=~4', "needs a string", 1, 14),
    ("sum(vector(1))", "unsupported LogQL", 1, 1),
    ("\ud800", "lone surrogate", 1, 1),
]


@pytest.mark.parametrize(("text", "message", "line", "column"), SYNTAX_ERRORS,
                         ids=[repr(c[0]) for c in SYNTAX_ERRORS])
def test_syntax_errors(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_logql(text)
    assert message in caught.value.message
    assert (caught.value.line, caught.value.column) == (line, column)


def test_string_escapes_are_the_selector_languages() -> None:
    expr = parse_logql('{a="tab\\there"} |= "\\u00e9\\""')
    assert isinstance(expr, LogQuery)
    assert expr.selector.matchers[0].value == "tab\there"
    assert expr.stages[0] == LineFilter(LineOp.CONTAINS, 'é"')
    with pytest.raises(QuerySyntaxError):
        parse_logql('{a="b"} |= "\\q"')
