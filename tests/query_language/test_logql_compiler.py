"""compile_logql(): LogQL to Elasticsearch query pieces, metric plans and literal values."""

from __future__ import annotations

import math
from typing import Any

import pytest

from query_language import (
    FieldTypeError,
    InvalidValueError,
    LiteralValue,
    LogSelection,
    MetricPlan,
    ResolvedGrouping,
    UnknownFieldError,
    UnsupportedRegexError,
    VectorStep,
    compile_logql,
    label_field,
    label_name,
    parse_logql,
)
from query_language.logql_ast import RangeFunction, VectorOp
from tests.query_language.conftest import FakeCatalogue

LINE = "line"
ALL: dict[str, Any] = {"match_all": {}}


def compiled(text: str, catalogue: FakeCatalogue) -> Any:
    return compile_logql(parse_logql(text), catalogue, line_field=LINE)


def term(field: str, value: str) -> dict[str, Any]:
    return {"term": {field: value}}


def wildcard(value: str) -> dict[str, Any]:
    return {"wildcard": {LINE: {"value": value}}}


def line_regexp(value: str, case_insensitive: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"value": value, "flags": "NONE"}
    if case_insensitive:
        body["case_insensitive"] = True
    return {"regexp": {LINE: body}}


def interval(field: str, value: str) -> dict[str, Any]:
    return {"regexp": {field: {"value": value, "flags": "INTERVAL"}}}


NUMBER = {"regexp": {"action": {"value": "[0-9]+", "flags": "NONE"}}}
NOTHING = {"bool": {"must_not": [ALL]}}


@pytest.mark.parametrize(("label", "field"), [
    ("actor_id", "actor.id"),
    ("target_kind", "target.kind"),
    ("labels_team", "labels.team"),
    ("labels_my_key", "labels.my_key"),
    ("action", "action"),
    ("user_id", "actor.id"),  # an alias
    ("actor.id", "actor.id"),  # the dotted name itself
    ("nope", None),
    ("labels_", None),
])
def test_label_field(label: str, field: str | None, catalogue: FakeCatalogue) -> None:
    assert label_field(label, catalogue) == field


def test_label_name() -> None:
    assert label_name("actor.group_id") == "actor_group_id"
    assert label_name("labels.team") == "labels_team"


LOG_CASES = [
    ("{}", ALL),
    ('{actor_id="u1"}', {"bool": {"filter": [term("actor.id", "u1")]}}),
    ('{labels_team="a", target_kind!="x"}', {"bool": {
        "filter": [term("labels.team", "a")], "must_not": [term("target.kind", "x")]}}),
    ('{} |= "denied"', wildcard("*denied*")),
    ('{} |= "a*b?c\\\\d"', wildcard("*a\\*b\\?c\\\\d*")),
    ('{} |= ""', ALL),
    ('{} != ""', {"bool": {"must_not": [ALL]}}),
    ('{} != "x"', {"bool": {"must_not": [wildcard("*x*")]}}),
    ('{} |~ "fail(ed|ure)"', line_regexp(".*fail(ed|ure).*")),
    ('{} |~ "^login"', line_regexp("login.*")),
    ('{} |~ "(?i)denied"', line_regexp(".*denied.*", case_insensitive=True)),
    ('{} |~ ".*"', ALL),
    ('{} !~ "a*"', {"bool": {"must_not": [ALL]}}),
    ('{} !~ "x.y"', {"bool": {"must_not": [line_regexp(".*x.y.*")]}}),
    ('{action="a"} | json | logfmt', {"bool": {"filter": [term("action", "a")]}}),
    ('{} | outcome="failure"', {"bool": {"filter": [term("outcome", "failure")]}}),
    # Loki's parser-error labels: always empty here.
    ('{} | json | drop __error__ | __error__=""', ALL),
    ('{} | __error__!=""', {"bool": {"must_not": [ALL]}}),
    ('{} | __error_details__=~".*"', ALL),
    ('{} | __error__=~".+"', {"bool": {"must_not": [ALL]}}),
    ("{} | __error__ > 1", {"bool": {"must_not": [ALL]}}),
    ('{} | actor_id="u1" or outcome!="x"', {"bool": {"should": [
        {"bool": {"filter": [term("actor.id", "u1")]}},
        {"bool": {"must_not": [term("outcome", "x")]}}], "minimum_should_match": 1}}),
    ('{action="a"} |= "x" | outcome="f" and actor_id="u"', {"bool": {"filter": [
        {"bool": {"filter": [term("action", "a")]}}, wildcard("*x*"),
        {"bool": {"filter": [{"bool": {"filter": [term("outcome", "f")]}},
                             {"bool": {"filter": [term("actor.id", "u")]}}]}}]}}),
    # Numeric label filters: Lucene's numeric interval, leading zeros allowed.
    ("{} | action >= 400", interval("action", "0*<400-999>|0*[1-9][0-9]{3,}")),
    ("{} | action > 399", interval("action", "0*<400-999>|0*[1-9][0-9]{3,}")),
    ("{} | action > 9", interval("action", "0*[1-9][0-9]{1,}")),
    ("{} | action >= 1", interval("action", "0*[1-9][0-9]{0,}")),
    ("{} | action > 2.5", interval("action", "0*<3-9>|0*[1-9][0-9]{1,}")),
    ("{} | action >= 0", NUMBER),
    ("{} | action < 10", interval("action", "0*<0-9>")),
    ("{} | action <= 10", interval("action", "0*<0-10>")),
    ("{} | action <= 2.5", interval("action", "0*<0-2>")),
    ("{} | action < 0", NOTHING),
    ("{} | action == 7", interval("action", "0*<7-7>")),
    ("{} | action == 7.5", NOTHING),
    ("{} | action != 7", {"bool": {"filter": [NUMBER],
                                  "must_not": [interval("action", "0*<7-7>")]}}),
    ("{} | action != 7.5", NUMBER),
]


@pytest.mark.parametrize(("text", "query"), LOG_CASES, ids=[c[0] for c in LOG_CASES])
def test_log_query(text: str, query: dict[str, Any], catalogue: FakeCatalogue) -> None:
    assert compiled(text, catalogue) == LogSelection(query)


def test_metric_plan(catalogue: FakeCatalogue) -> None:
    plan = compiled('topk(2, sum by (actor_id, nope) (rate({action="a"} |= "x" [5m])))',
                    catalogue)
    assert plan == MetricPlan(
        query={"bool": {"filter": [{"bool": {"filter": [term("action", "a")]}},
                                   wildcard("*x*")]}},
        function=RangeFunction.RATE,
        range_ms=300_000,
        steps=(VectorStep(VectorOp.SUM, ResolvedGrouping(False, ("actor_id", "nope"),
                                                         ("actor.id", None)), None),
               VectorStep(VectorOp.TOPK, None, 2)),
    )


def test_metric_plan_without_aggregation(catalogue: FakeCatalogue) -> None:
    plan = compiled("bytes_over_time({}[1h])", catalogue)
    assert plan == MetricPlan(ALL, RangeFunction.BYTES_OVER_TIME, 3_600_000, ())


@pytest.mark.parametrize(("text", "value", "vector"), [
    ("vector(1)+vector(1)", 2.0, True),
    ("1 + vector(2) * 3", 7.0, True),
    ("2 ^ 3 ^ 2", 512.0, False),
    ("7 % 4 - 1", 2.0, False),
    ("1 / 0", math.inf, False),
])
def test_literals(text: str, value: float, vector: bool, catalogue: FakeCatalogue) -> None:
    assert compiled(text, catalogue) == LiteralValue(value, vector)


def test_literal_nan(catalogue: FakeCatalogue) -> None:
    result = compiled("0 / 0", catalogue)
    assert isinstance(result, LiteralValue) and math.isnan(result.value)


@pytest.mark.parametrize(("text", "error", "where"), [
    ('{nope="x"}', UnknownFieldError, (1, 2)),
    ('{} | nope="x"', UnknownFieldError, (1, 6)),
    ("{} | nope > 3", UnknownFieldError, (1, 6)),
    ('{message=~"x"}', FieldTypeError, (1, 2)),
    ("{} | source_ip > 3", FieldTypeError, (1, 6)),
    ("{} | message > 3", FieldTypeError, (1, 6)),
    ("{} | action > 1000000000", InvalidValueError, (1, 6)),
    ('{} |~ "a\\\\bb"', UnsupportedRegexError, (1, 7)),
    ('{} |~ "a^b"', UnsupportedRegexError, (1, 7)),
    ('rate({source_ip=~"1.*"}[1m])', FieldTypeError, (1, 7)),
])
def test_errors(text: str, error: type[Exception], where: tuple[int, int],
                catalogue: FakeCatalogue) -> None:
    with pytest.raises(error) as caught:
        compiled(text, catalogue)
    assert (caught.value.line, caught.value.column) == where  # type: ignore[attr-defined]


def test_unknown_label_suggests_a_field(catalogue: FakeCatalogue) -> None:
    with pytest.raises(UnknownFieldError) as caught:
        compiled('{actor_idd="x"}', catalogue)
    assert caught.value.field == "actor_idd"
