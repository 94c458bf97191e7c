"""Properties: every AST prints to text that parses back to it; no input escapes QueryError."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from query_language import Matcher, Op, QueryError, RegexError, Selector, compile_selector, parse
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
