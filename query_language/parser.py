"""Text to AST: ``parse(text) -> Selector``.

The grammar (``grammar.lark``) is loaded once and run by Lark's LALR parser
with ``SelectorLexer`` (``lexer.py``: the grammar's terminals in one regex); the
AST is built while parsing (an embedded transformer), and string escapes are
decoded on the way. This module is the
one place where Lark's exceptions become ``QuerySyntaxError``.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Iterable
from typing import cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from query_language.ast import Matcher, Op, Selector
from query_language.errors import QuerySyntaxError
from query_language.lexer import SelectorLexer
from query_language.string_literals import unquote

# Texts up to this length are remembered (with their AST) by an LRU cache.
CACHED_TEXT_LENGTH = 4096
CACHE_SIZE = 2048

# What each terminal is called in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "field name",
    "STRING": "string",
    "OP": "operator (=, !=, =~ or !~)",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "$END": "end of input",
    "<END-OF-FILE>": "end of input",
}
_OPS = {op.value: op for op in Op}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _position(token: Token) -> tuple[int, int]:
    # The lexer always sets them; Lark's types just allow None.
    return token.line or 1, token.column or 1


class _ToAst(Transformer[Token, Selector]):
    """Builds Matcher and Selector values as the parser reduces rules."""

    def matcher(self, children: list[Token]) -> Matcher:
        name, op, value = children
        name_at, value_at = _position(name), _position(value)
        field = name.value if name.type == "NAME" else unquote(name.value, *name_at)
        return Matcher(field, _OPS[op.value], unquote(value.value, *value_at), name_at, value_at)

    def start(self, children: list[Matcher]) -> Selector:
        return Selector(tuple(children))


@functools.cache
def _parser() -> Lark:
    grammar = importlib.resources.files(__package__).joinpath("grammar.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", lexer=SelectorLexer, transformer=_ToAst())


def _expected(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({_TERMINAL_NAMES.get(n, n) for n in names}))


def _phrase(expected: tuple[str, ...]) -> str:
    if not expected:
        return ""
    if len(expected) == 1:
        return f"; expected {expected[0]}"
    return f"; expected {', '.join(expected[:-1])} or {expected[-1]}"


def _end_position(text: str) -> tuple[int, int]:
    line = text.count("\n") + 1
    return line, len(text) - (text.rfind("\n") + 1) + 1


def _syntax_error(exc: UnexpectedInput, text: str) -> QuerySyntaxError:
    """Translate one of Lark's exceptions (the only place this happens)."""
    if isinstance(exc, UnexpectedCharacters):
        allowed = set(exc.allowed or ())
        expected = _expected(allowed) if allowed else ("end of input",)
        char = exc.char
        if char in "\"'`" and "STRING" in allowed:
            kind = "raw string" if char == "`" else "quoted string"
            message = f"unterminated {kind}"
            if char != "`":
                message += " (a quoted string ends on its line; use `...` for several lines)"
            return QuerySyntaxError(
                message, line=exc.line, column=exc.column, text=text[exc.pos_in_stream :][:40]
            )
        return QuerySyntaxError(
            f"unexpected character {char!r}{_phrase(expected)}",
            line=exc.line,
            column=exc.column,
            text=char,
            expected=expected,
        )
    if isinstance(exc, UnexpectedToken):
        expected = _expected(exc.expected)
        token = exc.token
        if token.type == "$END":
            line, column = _end_position(text)
            return QuerySyntaxError(
                f"unexpected end of input{_phrase(expected)}",
                line=line,
                column=column,
                text="",
                expected=expected,
            )
        shown = token.value if len(token.value) <= 40 else token.value[:37] + "..."
        if token.type in ("NAME", "STRING"):
            what = f"{_TERMINAL_NAMES[token.type]} {shown}"
        elif token.type == "OP":
            what = f"operator {shown!r}"
        else:
            what = repr(shown)
        return QuerySyntaxError(
            f"unexpected {what}{_phrase(expected)}",
            line=token.line,
            column=token.column,
            text=token.value,
            expected=expected,
        )
    line, column = _end_position(text)  # UnexpectedEOF: not raised by LALR, kept for safety
    return QuerySyntaxError(f"unexpected end of input: {exc}", line=line, column=column)


def _parse(text: str) -> Selector:
    bad = _SURROGATE.search(text)
    if bad is not None:
        before = text[: bad.start()]
        line = before.count("\n") + 1
        column = bad.start() - (before.rfind("\n") + 1) + 1
        raise QuerySyntaxError(
            "invalid Unicode: lone surrogate code point", line=line, column=column
        )
    try:
        selector = cast(Selector, _parser().parse(text))
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from exc
    return selector


_parse_cached = functools.lru_cache(maxsize=CACHE_SIZE)(_parse)


def parse(text: str) -> Selector:
    """Parse selector text (``{a="b", c=~"d"}``, braces optional) into a Selector.

    Empty or whitespace-only text, and ``{}``, give the empty selector, which
    matches everything. Raises QuerySyntaxError with the line, column and the
    expected tokens when the text is not a selector or a string literal is bad.
    Regexes and field names are checked by ``compile_selector``, not here.
    """
    if len(text) <= CACHED_TEXT_LENGTH:
        return _parse_cached(text)
    return _parse(text)
