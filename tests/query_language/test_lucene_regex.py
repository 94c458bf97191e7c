"""RE2 to Lucene regexp translation: accepted constructs and the named rejections."""

from __future__ import annotations

import pytest

from query_language import (
    InvalidRegexError,
    RegexError,
    RegexTooComplexError,
    UnsupportedRegexError,
)
from query_language.lucene_regex import translate

KELVIN = "\u212a"
LONG_S = "\u017f"

TRANSLATIONS = [
    # (RE2, Lucene, case_insensitive, matches "")
    ("abc", "abc", False, False),
    ("a|b|", "(a|b)?", False, True),
    ("(?i)x|", "x?", True, True),  # never "()": Lucene's case-insensitive mode breaks it
    ("a(|b)c", "ab?c", False, False),
    ("", "()", False, True),
    ("(?:)", "()", False, True),
    ("a.c", "a.c", False, False),  # . matches \n, as Prometheus compiles (?s:...)
    ("(?-s)a.c", "a[^\n]c", False, False),
    ("(?-s:.)(?s:.)", "[^\n].", False, False),
    ("(?s).", ".", False, False),
    ("[\\s\\S]", ".", False, False),
    ("a*b+c?", "a*b+c?", False, False),
    ("a{3}b{2,}c{1,5}d{0,1}", "a{3}b{2,}c{1,5}d?", False, False),
    ("(ab)*", "(ab)*", False, True),
    ("(a|b)c", "(a|b)c", False, False),
    ("((a))", "a", False, False),
    ("a*?b+?c??d{2,3}?", "a*b+c?d{2,3}", False, False),  # lazy = greedy when anchored
    ("x{0}", "()", False, True),
    ("x{1}", "x", False, False),
    ("x{,2}", "x\\{\\,2\\}", False, False),  # not a repeat in RE2: literal
    ("x{01}", "x\\{01\\}", False, False),
    ("a{", "a\\{", False, False),
    ("a}", "a\\}", False, False),
    ("]", "\\]", False, False),
    # Perl and POSIX classes are written out (ASCII, as in RE2)
    ("\\d+", "[0-9]+", False, False),
    ("\\w", "[0-9A-Z\\_a-z]", False, False),
    ("\\s", "[\t\n\f\r ]", False, False),
    ("\\D", "[^0-9]", False, False),
    ("\\W", "[^0-9A-Z\\_a-z]", False, False),
    ("\\S", "[^\t\n\f\r ]", False, False),
    ("[\\d\\s]", "[\t\n\f\r 0-9]", False, False),
    ("[^\\d]", "[^0-9]", False, False),
    ("[[:alpha:]]", "[A-Za-z]", False, False),
    ("[[:^digit:]x]", "[^0-9]", False, False),
    ("[[:space:]]", "[\t-\r ]", False, False),
    # the shorter of [...] and [^...] is written
    ("[[:punct:]]", "[^\x00- 0-9A-Za-z\x7f-\ud7ff\ue000-\U0010ffff]", False, False),
    ("[!-/]", "[\\!-\\/]", False, False),
    ("[a-cx-z]", "[a-cx-z]", False, False),
    ("[]a]", "[\\]a]", False, False),
    ("[^]a]", "[^\\]a]", False, False),
    ("[a-]", "[\\-a]", False, False),
    ("[-a]", "[\\-a]", False, False),
    ("[a-b-c]", "[\\-a-c]", False, False),
    ("[.]", "\\.", False, False),
    ("[\\x{1F600}-\\x{1F64F}]", "[\U0001f600-\U0001f64f]", False, False),
    ("[^a]", "[^a]", False, False),
    # escapes
    (
        "\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\\\\\^\\$",
        "\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\\\\\^\\$",
        False,
        False,
    ),
    ("\\x41\\x{42}\\103\\0", "ABC\x00", False, False),
    ("\\a\\f\\t\\n\\r\\v", "\a\f\t\n\r\v", False, False),
    ("\\Qa.b*\\E+", "a\\.b\\*+", False, False),
    ("\\Qa.b", "a\\.b", False, False),
    # Lucene's optional operators are always escaped
    ('a@b&c~d<e>f#g"h', 'a\\@b\\&c\\~d\\<e\\>f\\#g\\"h', False, False),
    ("日本.*", "日本.*", False, False),
    # anchors at the very start and end cannot fail: dropped
    ("^abc$", "abc", False, False),
    ("\\Aabc\\z", "abc", False, False),
    ("^a|b$", "a|b", False, False),
    ("(^a)|(b$)", "a|b", False, False),
    ("^$", "()", False, True),
    ("^", "()", False, True),
    # case-insensitive: the flag when wholly (?i), explicit sets where Lucene would differ
    ("(?i)abc", "abc", True, False),
    ("(?i)[a-c]x", "[A-Ca-c]x", True, False),
    ("(?i)k", f"[Kk{KELVIN}]", True, False),
    ("(?i)[r-t]", f"[R-Tr-t{LONG_S}]", True, False),
    ("(?i)é", "[Éé]", True, False),
    ("(?i)\\W", f"[^0-9A-Z\\_a-z{LONG_S}{KELVIN}]", True, False),
    ("(?i)[^a]", "[^Aa]", True, False),
    ("(?i)1.2", "1.2", True, False),
    ("a(?i)b", "a[Bb]", False, False),
    ("a(?i:b)c", "a[Bb]c", False, False),
    ("(?i)a(?-i:b)", "[Aa]b", False, False),
    ("(?i:a)|b", "[Aa]|b", False, False),
    ("(a(?i)b)c", "a[Bb]c", False, False),  # (?i) ends with its group
    ("a(?i)b|c", "a[Bb]|[Cc]", False, False),  # ... and spans later alternatives
    ("123(?i)", "123", False, False),
]


@pytest.mark.parametrize(("re2", "lucene", "case_insensitive", "matches_empty"), TRANSLATIONS)
def test_translation(re2: str, lucene: str, case_insensitive: bool, matches_empty: bool) -> None:
    result = translate(re2)
    assert (result.value, result.case_insensitive, result.matches_empty) == (
        lucene,
        case_insensitive,
        matches_empty,
    )


@pytest.mark.parametrize(
    ("re2", "literals"),
    [
        ("feature|group", ("feature", "group")),
        ("a(b|c)d", ("abd", "acd")),
        ("colou?r", ("color", "colour")),
        ("x|x|y", ("x", "y")),
        ("[ab]c", ("ac", "bc")),
        ("", ("",)),
        ("a|", ("", "a")),
        ("(?:a|)", ("", "a")),  # the same through the general path
        ("(?:feature|group)", ("feature", "group")),
        ("(?i)ab", ("AB", "Ab", "aB", "ab")),
        ("a+", None),
        ("[a-z]", None),
        (".", None),
        ("(a|b|c|d){8}", None),
    ],
)
def test_literal_sets(re2: str, literals: tuple[str, ...] | None) -> None:
    assert translate(re2).literals == literals


@pytest.mark.parametrize(
    ("re2", "everything", "nonempty"),
    [
        (".*", True, False),
        ("(?s:.*)", True, False),
        (".+", False, True),
        ("(.*)", True, False),
        ("(?-s).*", False, False),
        ("a.*", False, False),
    ],
)
def test_match_all_shapes(re2: str, everything: bool, nonempty: bool) -> None:
    result = translate(re2)
    assert (result.matches_everything, result.matches_nonempty) == (everything, nonempty)


UNSUPPORTED = [
    # (RE2, the construct the error names, offset)
    ("a(?=b)", "look-ahead", 1),
    ("a(?!b)", "negative look-ahead", 1),
    ("(?<=a)b", "look-behind", 0),
    ("(?<!a)b", "negative look-behind", 0),
    ("(a)\\1", "back-reference \\1", 3),
    ("(a)\\9", "back-reference \\9", 3),
    ("(?P<x>a)(?P=x)", "named group", 0),
    ("a(?P=x)", "back-reference (?P=name)", 1),
    ("\\k<x>", "back-reference \\k<name>", 0),
    ("(?P<name>a)", "named group (?P<name>", 0),
    ("(?<name>a)", "named group (?<name>", 0),
    ("\\bword\\b", "word boundary \\b", 0),
    ("a\\Bb", "non-word boundary \\B", 1),
    ("\\C", "any-byte escape \\C", 0),
    ("\\pL", "Unicode character class \\pL", 0),
    ("\\p{Greek}+", "Unicode character class \\p{Greek}", 0),
    ("[\\p{Lu}]", "Unicode character class \\p", 1),
    ("(?m)^a$", "flag m (multi-line)", 0),
    ("(?U)a*", "flag U (ungreedy)", 0),
    ("(?>a)", "atomic group", 0),
    ("a^b", "anchor ^", 1),
    ("a$b", "anchor $", 1),
    ("a\\Ab", "anchor \\A", 1),
    ("a\\zb", "anchor \\z", 1),
    ("(^a)*", "anchor ^", 1),
    ("x*^a", "anchor ^", 2),
    ("c(a|^b)", "anchor ^", 4),
]


@pytest.mark.parametrize(("re2", "construct", "offset"), UNSUPPORTED)
def test_unsupported_constructs_are_named(re2: str, construct: str, offset: int) -> None:
    with pytest.raises(UnsupportedRegexError) as caught:
        translate(re2)
    assert caught.value.construct.startswith(construct)
    assert construct in caught.value.message
    assert caught.value.offset == offset


INVALID = [
    # (RE2, a phrase of the message, offset)
    ("(a", "missing closing )", 0),
    ("a)", "unexpected )", 1),
    ("[a", "missing closing ]", 0),
    ("[]", "missing closing ]", 0),
    ("[z-a]", "invalid character class range", 3),
    ("[[:foo:]]", "invalid character class range [:foo:]", 1),
    ("*a", "missing argument to repetition operator", 0),
    ("a|*", "missing argument to repetition operator", 2),
    ("(*)", "missing argument to repetition operator", 1),
    ("{2}", "missing argument to repetition operator", 0),
    ("(?i)*", "missing argument to repetition operator", 4),
    ("a**", "invalid nested repetition operator", 1),
    ("a*+", "invalid nested repetition operator", 1),
    ("a{2}{3}", "invalid nested repetition operator", 1),
    ("a{1001}", "invalid repeat count", 1),
    ("a{3,2}", "invalid repeat count", 1),
    ("a\\", "trailing backslash", 1),
    ("\\q", "invalid escape sequence \\q", 0),
    ("\\Z", "invalid escape sequence \\Z", 0),
    ("\\E", "invalid escape sequence \\E", 0),
    ("\\é", "invalid escape sequence", 0),
    ("\\x4", "invalid escape sequence", 0),
    ("\\x{110000}", "invalid code point", 0),
    ("\\x{D800}", "invalid code point", 0),
    ("\\x{zz}", "invalid escape sequence", 0),
    ("(?#comment)", "invalid or unsupported Perl syntax", 0),
    ("(?i", "invalid or unsupported Perl syntax", 0),
    ("(?-)", "missing flag after '-'", 0),
    ("(?i-)", "missing flag after '-'", 0),
    ("(?x)", "unknown flag 'x'", 0),
    ("[a-\\d]", "invalid character class range", 3),
    ("[\\b]", "invalid escape sequence \\b in a class", 1),
]


@pytest.mark.parametrize(("re2", "message", "offset"), INVALID)
def test_invalid_re2(re2: str, message: str, offset: int) -> None:
    with pytest.raises(InvalidRegexError) as caught:
        translate(re2)
    assert message in caught.value.message
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    "re2",
    [
        "(a{1000}){1000}",
        "((a{100}){101})",
        "(" * 101 + "a" + ")" * 101,
        "[a-z]{1000}[0-9]{1000}" * 6,
    ],
)
def test_complexity_is_bounded(re2: str) -> None:
    with pytest.raises(RegexTooComplexError):
        translate(re2)


@pytest.mark.parametrize("re2", ["a{1000}", "(" * 100 + "a" + ")" * 100, "(?:)" * 50, "()"])
def test_within_bounds(re2: str) -> None:
    translate(re2)


def test_every_regex_error_is_a_query_error_with_the_pattern() -> None:
    with pytest.raises(RegexError) as caught:
        translate("a(?=b)")
    body = caught.value.as_dict()
    assert body["regex"] == "a(?=b)"
    assert body["offset"] == 1
    assert body["kind"] == "unsupported_regex"
