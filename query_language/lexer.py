"""The selector lexer: the grammar's own terminals, matched with one regex per token.

Lark's lexers count lines and columns for every token and, being contextual,
switch scanners with the parser state; the selector language, where no two
terminals can match the same text, needs neither (about a fifth of a parse's
time on a 4-matcher query). This lexer is built from the terminals and ignore
patterns Lark compiled from ``grammar.lark`` (nothing about the language is
repeated here), joined into one regex in Lark's own priority order. It gives
Lark the same tokens, positions and errors as the contextual lexer: a character
no terminal accepts is an ``UnexpectedCharacters`` listing what the parser state
accepts, and a token the state does not accept is an ``UnexpectedToken`` with
the same expected set.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import Any

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import Lexer, LexerState


class SelectorLexer(Lexer):
    """A Lark lexer (its ``__future_interface__`` 2) for grammars without ambiguous terminals."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        ignored = set(lexer_conf.ignore)
        terminals = sorted(lexer_conf.terminals, key=lambda t: (
            -t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        skip = "|".join(t.pattern.to_regexp() for t in terminals if t.name in ignored)
        tokens = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})"
                          for t in terminals if t.name not in ignored)
        self._skip = re.compile(f"(?:{skip})*" if skip else "", lexer_conf.g_regex_flags)
        self._token = re.compile(f"(?:{skip})*(?:{tokens})" if skip else tokens,
                                 lexer_conf.g_regex_flags)
        self._terminals = frozenset(t.name for t in terminals if t.name not in ignored)
        self._by_name = lexer_conf.terminals_by_name

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        """Tokens of the text, each checked against what the parser state accepts."""
        text = lexer_state.text.text
        end = len(text)
        starts = [m.end() for m in re.finditer("\n", text)] if "\n" in text else None
        match = self._token.match
        states = parser_state.parse_conf.states
        pos = 0
        while True:
            found = match(text, pos)
            if found is None:
                pos = self._skip.match(text, pos).end()
                if pos >= end:
                    return
                line, column = _place(starts, pos)
                raise UnexpectedCharacters(
                    text, pos, line, column, allowed=self._accepted(states, parser_state),
                    state=parser_state, token_history=lexer_state.last_token
                    and [lexer_state.last_token], terminals_by_name=self._by_name)
            kind = found.lastgroup
            start = found.start(kind)
            pos = found.end()
            line, column = _place(starts, start)
            token = Token(kind, found.group(kind), start, line, column)
            if kind not in states[parser_state.position]:
                raise UnexpectedToken(
                    token, self._accepted(states, parser_state), state=parser_state,
                    token_history=lexer_state.last_token and [lexer_state.last_token],
                    terminals_by_name=self._by_name)
            lexer_state.last_token = token
            yield token

    def _accepted(self, states: Any, parser_state: Any) -> set[str]:
        accepted = {name for name in states[parser_state.position] if name in self._terminals}
        return accepted or {"<END-OF-FILE>"}  # what Lark's lexers say when only the end fits


def _place(line_starts: list[int] | None, pos: int) -> tuple[int, int]:
    """Line and column (from 1) of ``pos``; ``line_starts`` are where lines 2.. begin."""
    if line_starts is None:
        return 1, pos + 1
    line = bisect.bisect_right(line_starts, pos)
    return line + 1, pos - (line_starts[line - 1] if line else 0) + 1
