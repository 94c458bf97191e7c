"""compile_selector(): selectors to Elasticsearch query DSL, and the errors it raises."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from query_language import (
    MAX_REGEX_LENGTH,
    FieldTypeError,
    InvalidRegexError,
    InvalidValueError,
    Matcher,
    Op,
    QueryError,
    RegexTooComplexError,
    RegexTooLongError,
    Selector,
    UnknownFieldError,
    UnsupportedRegexError,
    compile_selector,
    parse,
)
from tests.query_language.conftest import FakeCatalogue

MATCH_ALL: dict[str, Any] = {"match_all": {}}
DIGITS = "\\\\d"  # \d inside a double-quoted query string


def term(field: str, value: str) -> dict[str, Any]:
    return {"term": {field: value}}


def exists(field: str) -> dict[str, Any]:
    return {"exists": {"field": field}}


def missing(field: str) -> dict[str, Any]:
    return {"bool": {"must_not": [exists(field)]}}


def either(*queries: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(queries), "minimum_should_match": 1}}


def regexp(field: str, value: str, case_insensitive: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"value": value, "flags": "NONE"}
    if case_insensitive:
        body["case_insensitive"] = True
    return {"regexp": {field: body}}


def q(filter: list[Any] | None = None, must_not: list[Any] | None = None) -> dict[str, Any]:
    clauses: dict[str, Any] = {}
    if filter:
        clauses["filter"] = filter
    if must_not:
        clauses["must_not"] = must_not
    return {"bool": clauses}


COMPILES = [
    # match everything
    ("", MATCH_ALL),
    ("{}", MATCH_ALL),
    # equality; a missing field is the empty string
    ('action="login"', q([term("action", "login")])),
    ('action!="login"', q(must_not=[term("action", "login")])),
    ('action=""', q([either(term("action", ""), missing("action"))])),
    ('action!=""', q([exists("action")], [term("action", "")])),
    # regexes; one that matches "" also matches a missing field
    ('action=~"log.*"', q([regexp("action", "log.*")])),
    ('action=~"a*"', q([either(regexp("action", "a*"), missing("action"))])),
    ('action=~"(x|)y*"', q([either(regexp("action", "x?y*"), missing("action"))])),
    ('action!~"a+"', q(must_not=[regexp("action", "a+")])),
    ('action!~"a*"', q([exists("action")], [regexp("action", "a*")])),
    ('action=~".*"', MATCH_ALL),
    ('action=~"^.*$"', MATCH_ALL),
    ('action!~".*"', q(must_not=[MATCH_ALL])),
    ('action=~".+"', q([exists("action")], [term("action", "")])),
    ('action!~".+"', q([either(term("action", ""), missing("action"))])),
    ('action=~""', q([either(term("action", ""), missing("action"))])),
    ('action!~""', q([exists("action")], [term("action", "")])),
    # a regex that is a few strings is a term or terms query
    ('action=~"login"', q([term("action", "login")])),
    ('target.kind=~"feature|group"', q([{"terms": {"target.kind": ["feature", "group"]}}])),
    (
        'target.kind=~"feature|"',
        q([either({"terms": {"target.kind": ["", "feature"]}}, missing("target.kind"))]),
    ),
    (
        'target.kind!~"feature|group"',
        q(must_not=[{"terms": {"target.kind": ["feature", "group"]}}]),
    ),
    (
        'target.kind!~"(feature)?"',
        q([exists("target.kind")], [{"terms": {"target.kind": ["", "feature"]}}]),
    ),
    ('action=~"a\\\\.b"', q([term("action", "a.b")])),
    ('action=~"(?i)no"', q([{"terms": {"action": ["NO", "No", "nO", "no"]}}])),
    # case-insensitive regexes
    ('user_agent!~"(?i).*curl.*"', q(must_not=[regexp("user_agent", ".*curl.*", True)])),
    ('user_agent=~"(?i)mozilla.*"', q([regexp("user_agent", "mozilla.*", True)])),
    ('user_agent=~"(?i)kube.*"', q([regexp("user_agent", "[Kk\u212a]ube.*", True)])),
    ('user_agent=~"Go(?i:-http).*"', q([regexp("user_agent", "Go\\-[Hh][Tt][Tt][Pp].*")])),
    # several matchers, several on one field
    (
        'action!="a", action!="b", action=~"[a-z]+"',
        q([regexp("action", "[a-z]+")], [term("action", "a"), term("action", "b")]),
    ),
    # aliases, labels, the text+keyword field
    ('user_id="u1"', q([term("actor.id", "u1")])),
    ('labels.team="core"', q([term("labels.team", "core")])),
    ('query="select 1"', q([term("query.keyword", "select 1")])),
    ('query=~"select .*"', q([regexp("query.keyword", "select .*")])),
    ('query=~"x*"', q([either(regexp("query.keyword", "x*"), missing("query.keyword"))])),
    # text-only fields: phrases, and "" is a missing field
    ('error="timed out"', q([{"match_phrase": {"error": "timed out"}}])),
    ('error!="timed out"', q(must_not=[{"match_phrase": {"error": "timed out"}}])),
    ('message=""', q(must_not=[exists("message")])),
    ('message!=""', q([exists("message")])),
    # ip fields: an address or a CIDR block
    ('source_ip="10.1.2.3"', q([term("source_ip", "10.1.2.3")])),
    ('source_ip="10.0.0.0/8"', q([term("source_ip", "10.0.0.0/8")])),
    ('source_ip!="2001:db8::/32"', q(must_not=[term("source_ip", "2001:db8::/32")])),
    ('source_ip="::1"', q([term("source_ip", "::1")])),
    ('source_ip="::ffff:10.1.2.3"', q([term("source_ip", "::ffff:10.1.2.3")])),
    ('source_ip="10.1.2.3/16"', q([term("source_ip", "10.1.2.3/16")])),  # host bits: fine
    # an ip field cannot hold "", and term "" on it is an Elasticsearch error
    ('source_ip=""', q(must_not=[exists("source_ip")])),
    ('source_ip!=""', q([exists("source_ip")])),
    # the DESIGN §5 example
    (
        '{action="login", actor.id!="svc-backup", target.kind=~"feature|group", '
        'user_agent!~"(?i).*curl.*"}',
        q(
            [term("action", "login"), {"terms": {"target.kind": ["feature", "group"]}}],
            [term("actor.id", "svc-backup"), regexp("user_agent", ".*curl.*", True)],
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), COMPILES)
def test_compiles(text: str, expected: dict[str, Any], catalogue: FakeCatalogue) -> None:
    assert compile_selector(parse(text), catalogue) == expected


def test_each_call_returns_a_fresh_dict(catalogue: FakeCatalogue) -> None:
    selector = parse('{action=~"log.*", outcome="ok"}')
    first = compile_selector(selector, catalogue)
    pristine = copy.deepcopy(first)
    first["bool"]["filter"].append({"mutated": True})
    first["bool"]["filter"][0]["regexp"]["action"]["value"] = "x"
    assert compile_selector(selector, catalogue) == pristine


ERRORS = [
    # (text, error class, line, column, a phrase of the message)
    ('actr.id="x"', UnknownFieldError, 1, 1, "did you mean 'actor.id'"),
    ('{action="x", nope="y"}', UnknownFieldError, 1, 14, "unknown field 'nope'"),
    ('{\n  action="x",\n  outcom="y"\n}', UnknownFieldError, 3, 3, "'outcome'"),
    ('source_ip=~"10\\\\..*"', FieldTypeError, 1, 1, "need a keyword field"),
    ('error=~"time.*"', FieldTypeError, 1, 1, "use = for a phrase match"),
    ('time="2024-01-01"', FieldTypeError, 1, 1, "start_time/end_time"),
    ('time=~".*"', FieldTypeError, 1, 1, "start_time/end_time"),
    ('context="x"', FieldTypeError, 1, 1, "not indexed"),
    ('source_ip="not-an-ip"', InvalidValueError, 1, 11, "neither an IPv4/IPv6 address"),
    ('source_ip!="10.0.0.0/33"', InvalidValueError, 1, 12, "CIDR"),
    ('source_ip="fe80::1%eth0"', InvalidValueError, 1, 11, "ip"),
    ('source_ip="10.0.0.0/255.0.0.0"', InvalidValueError, 1, 11, "CIDR"),
    ('source_ip=" 10.0.0.1"', InvalidValueError, 1, 11, "ip"),
    ('source_ip="::ffff:10.0.0.0/104"', InvalidValueError, 1, 11, "IPv4-mapped"),
    ('action=~"(?=x)"', UnsupportedRegexError, 1, 9, "look-ahead"),
    ('action!~"a\\\\bc"', UnsupportedRegexError, 1, 9, "word boundary \\b"),
    ('action=~"(a)\\\\1"', UnsupportedRegexError, 1, 9, "back-reference \\1"),
    ('action=~"a$b"', UnsupportedRegexError, 1, 9, "anchor $"),
    ('action=~"(a"', InvalidRegexError, 1, 9, "missing closing )"),
    ('action=~"*"', InvalidRegexError, 1, 9, "missing argument to repetition operator"),
    ("{\n action=~\n  `[z-a]`}", InvalidRegexError, 3, 3, "invalid character class range"),
    ('action=~"(a{1000}){1000}"', RegexTooComplexError, 1, 9, "too complex"),
    (f'action=~"{"a" * (MAX_REGEX_LENGTH + 1)}"', RegexTooLongError, 1, 9, "limit is 1000"),
    # 900 characters as written, 1500 once \d becomes [0-9]
    (f'action=~"{DIGITS * 300}"', RegexTooLongError, 1, 9, "once translated to Lucene"),
]


@pytest.mark.parametrize(("text", "error", "line", "column", "message"), ERRORS)
def test_errors(
    text: str,
    error: type[QueryError],
    line: int,
    column: int,
    message: str,
    catalogue: FakeCatalogue,
) -> None:
    selector = parse(text)
    with pytest.raises(error) as caught:
        compile_selector(selector, catalogue)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)
    assert message in caught.value.message


def test_unknown_field_lists_suggestions(catalogue: FakeCatalogue) -> None:
    with pytest.raises(UnknownFieldError) as caught:
        compile_selector(parse('user_idd="x"'), catalogue)
    body = caught.value.as_dict()
    assert body["kind"] == "unknown_field"
    assert body["field"] == "user_idd"
    assert body["suggestions"][0] == "user_id"
    assert (body["line"], body["column"]) == (1, 1)


def test_unknown_field_without_close_names(catalogue: FakeCatalogue) -> None:
    with pytest.raises(UnknownFieldError) as caught:
        compile_selector(parse('zzzzzz="x"'), catalogue)
    assert caught.value.suggestions == ()
    assert "did you mean" not in caught.value.message


def test_unsupported_regex_names_the_construct(catalogue: FakeCatalogue) -> None:
    with pytest.raises(UnsupportedRegexError) as caught:
        compile_selector(parse('action=~"x(?<!y)"'), catalogue)
    body = caught.value.as_dict()
    assert body["kind"] == "unsupported_regex"
    assert body["construct"].startswith("negative look-behind")
    assert body["regex"] == "x(?<!y)"
    assert body["offset"] == 1


def test_regex_length_limit_can_be_overridden(catalogue: FakeCatalogue) -> None:
    selector = parse('action=~"abc.*"')
    with pytest.raises(RegexTooLongError) as caught:
        compile_selector(selector, catalogue, max_regex_length=4)
    assert caught.value.limit == 4
    assert caught.value.as_dict()["limit"] == 4
    long_selector = parse(f'action=~"{"a" * 1500}.*"')
    compiled = compile_selector(long_selector, catalogue, max_regex_length=2000)
    assert compiled["bool"]["filter"][0]["regexp"]["action"]["value"].startswith("aaa")


def test_hand_built_matchers_with_lone_surrogates_are_refused(catalogue: FakeCatalogue) -> None:
    selector = Selector((Matcher("action", Op.EQ, "a\ud800"),))
    with pytest.raises(InvalidValueError, match="lone surrogate"):
        compile_selector(selector, catalogue)
