"""parse(): text to AST, and syntax errors with their positions."""

from __future__ import annotations

import pytest

from query_language import Matcher, Op, QuerySyntaxError, Selector, parse


def sel(*matchers: tuple[str, Op, str]) -> Selector:
    return Selector(tuple(Matcher(f, op, v) for f, op, v in matchers))


EQ, NE, RE, NRE = Op.EQ, Op.NE, Op.RE, Op.NRE

PARSES = [
    # empty selectors match everything
    ("", sel()),
    ("   \n\t ", sel()),
    ("{}", sel()),
    ("{ \n }", sel()),
    # braces optional, trailing comma allowed
    ('action="login"', sel(("action", EQ, "login"))),
    ('{action="login"}', sel(("action", EQ, "login"))),
    ('{action="login",}', sel(("action", EQ, "login"))),
    ('action="login",', sel(("action", EQ, "login"))),
    # the four operators
    (
        '{a="1", b!="2", c=~"3", d!~"4"}',
        sel(("a", EQ, "1"), ("b", NE, "2"), ("c", RE, "3"), ("d", NRE, "4")),
    ),
    ('a=~"x"', sel(("a", RE, "x"))),
    ('a!~"x"', sel(("a", NRE, "x"))),
    ('a!="x"', sel(("a", NE, "x"))),
    # the DESIGN §5 example
    (
        '{action="login", actor.id!="svc-backup", target.kind=~"feature|group", '
        'user_agent!~"(?i).*curl.*"}',
        sel(
            ("action", EQ, "login"),
            ("actor.id", NE, "svc-backup"),
            ("target.kind", RE, "feature|group"),
            ("user_agent", NRE, "(?i).*curl.*"),
        ),
    ),
    # field names: dots, underscores, label keys with dashes and digits, quoted names
    ('actor.group_id="g"', sel(("actor.group_id", EQ, "g"))),
    ('_x="1"', sel(("_x", EQ, "1"))),
    ('labels.team-name="x"', sel(("labels.team-name", EQ, "x"))),
    ('labels.2fa="on"', sel(("labels.2fa", EQ, "on"))),
    ('"weird name"="x"', sel(("weird name", EQ, "x"))),
    ("'a.b'=`c`", sel(("a.b", EQ, "c"))),
    # whitespace and newlines anywhere between tokens
    (
        '{\n  action\n  =\n  "login"\n  ,\n  outcome !=\t"ok"\r\n}',
        sel(("action", EQ, "login"), ("outcome", NE, "ok")),
    ),
    # quoting styles
    ("a='single'", sel(("a", EQ, "single"))),
    ('a=`raw \\d+ "x"`', sel(("a", EQ, 'raw \\d+ "x"'))),
    ("a=`two\nlines`", sel(("a", EQ, "two\nlines"))),
    ('a="\\"quoted\\""', sel(("a", EQ, '"quoted"'))),
    ("a='it\\'s'", sel(("a", EQ, "it's"))),
    ("a='say \"hi\"'", sel(("a", EQ, 'say "hi"'))),
    ('a="it\'s"', sel(("a", EQ, "it's"))),
    ('a="tab\\there"', sel(("a", EQ, "tab\there"))),
    ('a="\\\\d+"', sel(("a", EQ, "\\d+"))),
    ('a=~"\\\\d+"', sel(("a", RE, "\\d+"))),
    ('a="日本語 ☺"', sel(("a", EQ, "日本語 ☺"))),
    ('a=""', sel(("a", EQ, ""))),
    ("a=''", sel(("a", EQ, ""))),
    ("a=``", sel(("a", EQ, ""))),
    # repeated fields are all kept, in order
    ('{a="1", a="2"}', sel(("a", EQ, "1"), ("a", EQ, "2"))),
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_parses(text: str, expected: Selector) -> None:
    assert parse(text) == expected


# Prometheus' string tests (promql/parser/parse_test.go, lex_test.go), as matcher values.
PROMETHEUS_STRINGS = [
    ('"double-quoted string \\" with escaped quote"', 'double-quoted string " with escaped quote'),
    ("'single-quoted string \\' with escaped quote'", "single-quoted string ' with escaped quote"),
    ("`backtick-quoted string`", "backtick-quoted string"),
    (
        "'\\a\\b\\f\\n\\r\\t\\v\\\\\\' - \\u1234\\U00010111\\U0001011111☺'",
        "\a\b\f\n\r\t\v\\' - \u1234\U00010111\U0001011111☺",
    ),
    (
        '"\\a\\b\\f\\n\\r\\t\\v\\\\\\" - \\u1234\\U00010111\\U0001011111☺"',
        '\a\b\f\n\r\t\v\\" - \u1234\U00010111\U0001011111☺',
    ),
    (
        "`\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\\' - \\xFF\\377\\u1234\\U00010111\\U0001011111☺`",
        "\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\\' - \\xFF\\377\\u1234\\U00010111\\U0001011111☺",
    ),
    ('"test\\tsequence"', "test\tsequence"),
    ('"test\\\\.expression"', "test\\.expression"),
    ("`test\\.expression`", "test\\.expression"),
    # \x and octal escapes are bytes, as in Go: these spell UTF-8 for "é"
    ('"\\xc3\\xa9"', "é"),
    ('"\\303\\251"', "é"),
    ('"\\x41\\101\\u0041\\U00000041"', "AAAA"),
    ('"\\000"', "\x00"),
]


@pytest.mark.parametrize(("literal", "value"), PROMETHEUS_STRINGS)
def test_prometheus_string_literals(literal: str, value: str) -> None:
    assert parse(f"a={literal}") == sel(("a", EQ, value))


ERRORS = [
    # (text, line, column, a phrase of the message, an expected token or None)
    ('{a="b"', 1, 7, "unexpected end of input", "'}'"),
    ("a=", 1, 3, "unexpected end of input", "string"),
    ("a", 1, 2, "unexpected end of input", "operator (=, !=, =~ or !~)"),
    ("{", 1, 2, "unexpected end of input", "field name"),
    ('{a="b" c="d"}', 1, 8, "unexpected field name c", "','"),
    ('a=="b"', 1, 3, "unexpected", "string"),
    ('a~"b"', 1, 2, "unexpected character '~'", None),
    ('a!"b"', 1, 2, "unexpected character '!'", None),
    ('a=~~"b"', 1, 4, "unexpected character '~'", "string"),
    ('{a="b",,}', 1, 8, "unexpected ','", "'}'"),
    ("{,}", 1, 2, "unexpected ','", "field name"),
    ('1a="b"', 1, 1, "unexpected character '1'", "field name"),
    ('a="b"}', 1, 6, "unexpected '}'", "end of input"),
    ('{a="b"} x', 1, 9, "unexpected field name x", "end of input"),
    ('{{a="b"}}', 1, 2, "unexpected '{'", "field name"),
    ("a=b", 1, 3, "unexpected field name b", "string"),
    ('a="b" # comment', 1, 7, "unexpected character '#'", None),
    ("a=1", 1, 3, "unexpected character '1'", "string"),
    ('{\n  a="b",\n  c=\n}', 4, 1, "unexpected '}'", "string"),
    ('é="x"', 1, 1, "unexpected character 'é'", None),
    # unterminated strings (a quoted string cannot span lines)
    ('a="unterminated', 1, 3, "unterminated quoted string", None),
    ("a='x\"", 1, 3, "unterminated quoted string", None),
    ('a="x\ny"', 1, 3, "unterminated quoted string", None),
    ("a=`raw", 1, 3, "unterminated raw string", None),
    ('a="\\', 1, 3, "unterminated quoted string", None),
    ("a=`\\``", 1, 6, "unexpected character '`'", None),  # Prometheus: remaining input
    # escapes (Prometheus' messages), placed at the backslash
    ('a="\\c"', 1, 4, "unknown escape sequence U+0063 'c'", None),
    ('a="\\x."', 1, 4, "illegal character U+002E '.' in escape sequence", None),
    ('a="\\u12"', 1, 4, "illegal character U+0022 '\"' in escape sequence", None),
    ('a="\\x4"', 1, 4, "illegal character U+0022", None),
    ('a="\\01"', 1, 4, "illegal character U+0022", None),
    ('a="ab\\q"', 1, 6, "unknown escape sequence", None),
    ('a="\\U00110000"', 1, 4, "invalid Unicode code point", None),
    ('a="\\ud800"', 1, 4, "invalid Unicode code point", None),
    ('a="\\400"', 1, 4, "octal escape value > 255", None),
    ('a="\\18"', 1, 4, "illegal character U+0038 '8'", None),
    ('a="\\xff"', 1, 3, "not valid UTF-8", None),
    ('a="\\xFF\\377"', 1, 3, "not valid UTF-8", None),  # Prometheus takes these bytes
    ("a='\\\"'", 1, 4, "unknown escape sequence U+0022", None),  # \" in single quotes
    ('a="\\\'"', 1, 4, "unknown escape sequence U+0027", None),  # \' in double quotes
    ('x="ok", "\\q"="v"', 1, 10, "unknown escape sequence", None),  # in a quoted field name
    ('{\n a="ok",\n b="\\z"}', 3, 5, "unknown escape sequence", None),
    # text that is not valid Unicode
    ('a="\ud800"', 1, 4, "lone surrogate", None),
]


@pytest.mark.parametrize(("text", "line", "column", "message", "expected"), ERRORS)
def test_syntax_errors(
    text: str, line: int, column: int, message: str, expected: str | None
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    error = caught.value
    assert (error.line, error.column) == (line, column), str(error)
    assert message in error.message
    if expected is not None:
        assert expected in error.expected
    body = error.as_dict()
    assert body["kind"] == "syntax_error"
    assert (body["line"], body["column"]) == (line, column)


def test_positions_are_kept_for_errors_but_not_compared() -> None:
    selector = parse('{\n  action="login"}')
    (matcher,) = selector.matchers
    assert matcher.field_at == (2, 3)
    assert matcher.value_at == (2, 10)
    assert matcher == Matcher("action", Op.EQ, "login")
    assert hash(matcher) == hash(Matcher("action", Op.EQ, "login"))


def test_repeated_parses_give_equal_results() -> None:
    text = '{action="login", outcome!="ok"}'
    assert parse(text) == parse(text) == parse(text + " ")


def test_long_text_is_parsed_without_the_cache() -> None:
    text = ",".join(f'f{i}="{i}"' for i in range(1000))
    assert len(text) > 4096
    assert len(parse(text).matchers) == 1000
