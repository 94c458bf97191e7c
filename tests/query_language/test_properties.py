"""Properties: every AST prints to text that parses back to it; no input escapes QueryError."""

from __future__ import annotations

import functools
import importlib.resources
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import UnexpectedInput

from query_language import Matcher, Op, QueryError, RegexError, Selector, compile_selector, parse
from query_language import parser as parser_module
from query_language.ast import BARE_FIELD
from query_language.lucene_regex import translate
from tests.query_language.conftest import ALIASES, FIELDS, FakeCatalogue

# Any code point but a surrogate: quotes, backslashes, newlines and controls included.
unicode_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
field_names = st.one_of(
    st.from_regex(BARE_FIELD, fullmatch=True),
    st.sampled_from([*FIELDS, *ALIASES, "labels.team", "labels.x-y"]),
    unicode_text,
)
matchers = st.builds(Matcher, field_names, st.sampled_from(list(Op)), unicode_text)
selectors = st.builds(Selector, st.lists(matchers, max_size=6).map(tuple))

# Text made mostly of the language's own characters, to get past the first token.
selector_alphabet = st.sampled_from(
    [*"{}=!~,\"'`\\ \n\tabxy._-0179", "action", "query", "\\x", "\\u", "é", "\ud800"]
)
selector_like = st.lists(selector_alphabet, max_size=40).map("".join)

regex_alphabet = st.sampled_from(
    [
        *"ab.*+?|()[]{}^$-\\:,0123456789dswDSWpPQEbBAzxk<>=!iIsmU#@&~\"' \n",
        *["(?", "(?i)", "(?:", "[:alpha:]", "\\x{", "é", "K"],
    ]
)
regex_like = st.lists(regex_alphabet, max_size=30).map("".join)

CATALOGUE = FakeCatalogue()


@settings(max_examples=500, deadline=None)
@given(selectors)
def test_to_string_parses_back_to_the_same_ast(selector: Selector) -> None:
    text = selector.to_string()
    assert parse(text) == selector
    assert parse(text).to_string() == text


def _parse_and_compile(text: str) -> None:
    try:
        selector = parse(text)
    except QueryError as exc:
        assert exc.line is not None and exc.column is not None
        json.dumps(exc.as_dict())
        return
    assert parse(selector.to_string()) == selector
    try:
        query = compile_selector(selector, CATALOGUE)
    except QueryError as exc:
        json.dumps(exc.as_dict())
        return
    json.dumps(query)  # plain JSON, no surrogates
    json.dumps(query, ensure_ascii=False).encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_query_errors(text: str) -> None:
    _parse_and_compile(text)


@settings(max_examples=1000, deadline=None)
@given(selector_like)
def test_selector_like_text_raises_only_query_errors(text: str) -> None:
    _parse_and_compile(text)


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from(["action", "query", "source_ip", "error"]),
    st.sampled_from(["=~", "!~"]),
    regex_like,
)
def test_arbitrary_regexes_raise_only_query_errors(field: str, op: str, regex: str) -> None:
    selector = Selector((Matcher(field, Op(op), regex),))
    try:
        query = compile_selector(selector, CATALOGUE)
    except QueryError as exc:
        json.dumps(exc.as_dict())
        return
    json.dumps(query, ensure_ascii=False).encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(regex_like)
def test_translation_is_a_lucene_string_or_a_regex_error(regex: str) -> None:
    try:
        result = translate(regex)
    except RegexError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(regex)
        return
    result.value.encode("utf-8")
    assert result.matches_empty == (result.literals is not None and "" in result.literals) or (
        result.literals is None
    )


def _lark_contextual_parse(text: str) -> Selector:
    """The same grammar and transformer with Lark's own contextual lexer."""
    return _contextual_parser().parse(text)


@functools.cache
def _contextual_parser() -> Lark:
    grammar = importlib.resources.files("query_language").joinpath("grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", transformer=parser_module._ToAst())


def _outcome(parse_with, text: str) -> object:
    try:
        selector = parse_with(text)
    except UnexpectedInput as exc:
        error = parser_module._syntax_error(exc, text)
        return (error.message, error.line, error.column, error.expected)
    except QueryError as exc:  # a bad escape, found by the transformer
        return ("escape", str(exc))
    return (selector, [(m.field_at, m.value_at) for m in selector.matchers])


@settings(max_examples=1500, deadline=None)
@given(st.one_of(selector_like, st.builds(lambda s: s.to_string(), selectors),
                 st.builds(lambda s, rest: s.to_string() + rest, selectors, selector_like)))
def test_selector_lexer_agrees_with_larks_contextual_lexer(text: str) -> None:
    if parser_module._SURROGATE.search(text):
        return  # refused before either lexer runs
    ours = parser_module._parser().parse
    assert _outcome(ours, text) == _outcome(_lark_contextual_parse, text)
