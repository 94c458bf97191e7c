"""The canonical text form: {in, out} round trips, as in Prometheus' printer tests."""

from __future__ import annotations

import pytest

from query_language import Matcher, Op, Selector, parse

ROUND_TRIPS = [
    ("", "{}"),
    ("{ }", "{}"),
    ('action="login"', '{action="login"}'),
    ("{ action = 'login' , }", '{action="login"}'),
    (
        '{action="login",actor.id!="svc-backup",target.kind=~"feature|group",'
        "user_agent!~'(?i).*curl.*'}",
        '{action="login", actor.id!="svc-backup", target.kind=~"feature|group", '
        'user_agent!~"(?i).*curl.*"}',
    ),
    ("a=`x\\y`", '{a="x\\\\y"}'),
    ("a=~`\\d+\\.\\d+`", '{a=~"\\\\d+\\\\.\\\\d+"}'),
    ("a=`line1\nline2`", '{a="line1\\nline2"}'),
    ("a='\"quoted\"'", '{a="\\"quoted\\""}'),
    ('a="\\u00e9\\U0001F600"', '{a="é😀"}'),
    ('a="\\xc3\\xa9"', '{a="é"}'),
    ('a="\\x01\\x7f"', '{a="\\x01\\x7f"}'),
    ('a="\\a\\b\\f\\n\\r\\t\\v"', '{a="\\a\\b\\f\\n\\r\\t\\v"}'),
    ('a="\\u00a0\\u2028"', '{a="\\u00a0\\u2028"}'),  # not printable: escaped
    ('a="\\U000e0001"', '{a="\\U000e0001"}'),
    ('"weird name"="x"', '{"weird name"="x"}'),
    ("'labels.team-x'=\"y\"", '{labels.team-x="y"}'),
    ('"1st"="x"', '{"1st"="x"}'),
    ('"a\\"b"="x"', '{"a\\"b"="x"}'),
    ('{b="2", a="1", b="3"}', '{b="2", a="1", b="3"}'),  # order is kept
]


@pytest.mark.parametrize(("text", "canonical"), ROUND_TRIPS)
def test_canonical_form(text: str, canonical: str) -> None:
    selector = parse(text)
    assert selector.to_string() == canonical
    assert parse(canonical) == selector
    assert parse(canonical).to_string() == canonical


@pytest.mark.parametrize(
    ("matcher", "text"),
    [
        (Matcher("a", Op.EQ, "x"), 'a="x"'),
        (Matcher("a", Op.NE, ""), 'a!=""'),
        (Matcher("a.b", Op.RE, "x|y"), 'a.b=~"x|y"'),
        (Matcher("a", Op.NRE, "\\d"), 'a!~"\\\\d"'),
        (Matcher("with space", Op.EQ, "v"), '"with space"="v"'),
        (Matcher("", Op.EQ, "v"), '""="v"'),
    ],
)
def test_matcher_to_string(matcher: Matcher, text: str) -> None:
    assert matcher.to_string() == text
    assert parse(text) == Selector((matcher,))


def test_op_properties() -> None:
    assert [op.is_regex for op in Op] == [False, False, True, True]
    assert [op.is_negative for op in Op] == [False, True, False, True]
    assert [op.value for op in Op] == ["=", "!=", "=~", "!~"]


def test_ast_values_are_frozen_and_hashable() -> None:
    selector = parse('{a="1", b!="2"}')
    assert len({selector, parse('{a="1",b!="2",}')}) == 1
    with pytest.raises(AttributeError):
        selector.matchers[0].value = "x"  # type: ignore[misc]
