"""LogQL text to AST: ``parse_logql(text) -> Expr``.

``logql.lark`` (which imports the selector grammar's matcher, names and strings)
is loaded once and run by Lark's LALR parser with its contextual lexer; the
AST is built while parsing. Lark's exceptions become ``QuerySyntaxError`` here
and nowhere else; LogQL that the subset does not support becomes
``UnsupportedLogQLError`` naming the construct.
"""

from __future__ import annotations

import functools
import re
from typing import Any, cast

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from query_language.ast import Matcher, Op, Selector
from query_language.errors import QuerySyntaxError, UnsupportedLogQLError
from query_language.logql_ast import (
    ERROR_LABELS,
    ArithmeticOp,
    BinaryOp,
    CmpOp,
    DropErrors,
    Expr,
    Grouping,
    LabelFilterAnd,
    LabelFilterExpr,
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
)
from query_language.parser import _phrase, _ToAst
from query_language.string_literals import unquote

MAX_QUERY_LENGTH = 16_384
PARSER_STAGES = ("json", "logfmt")
MAX_RANK = 10_000

# LogQL that this subset does not have: the word as written -> what it is.
UNSUPPORTED = {
    **{f: "range function" for f in (
        "sum_over_time", "avg_over_time", "max_over_time", "min_over_time", "first_over_time",
        "last_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time",
        "absent_over_time", "rate_counter")},
    **{f: "aggregation" for f in (
        "stddev", "stdvar", "sort", "sort_desc", "approx_topk", "label_replace")},
    **{s: "pipeline stage" for s in (
        "line_format", "label_format", "unwrap", "pattern", "regexp", "unpack", "decolorize",
        "keep")},
    **{k: "keyword" for k in (
        "offset", "bool", "on", "ignoring", "group_left", "group_right", "unless")},
}
SUPPORTED_SUMMARY = (
    "supported: stream selectors, line filters |= != |~ !~, | json, | logfmt, label filters, "
    "count_over_time, rate, bytes_over_time, bytes_rate, sum, count, avg, min, max, topk, "
    "bottomk with by/without, and arithmetic on number and vector() literals"
)

_TERMINAL_NAMES = {
    "NAME": "label name",
    "PARSER": "json or logfmt",
    "DROP": "drop",
    "STRING": "string",
    "OP": "matcher operator (=, !=, =~ or !~)",
    "LINE_OP": "line filter (|=, !=, |~ or !~)",
    "CMP_OP": "comparison (==, !=, >, >=, < or <=)",
    "NUMBER": "number",
    "DURATION": "duration such as 5m",
    "RANGE_FUNC": "range function",
    "VECTOR_OP": "aggregation",
    "RANK_OP": "topk or bottomk",
    "GROUPING_KIND": "by or without",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/' or '%'",
    "POW_OP": "'^'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "VBAR": "'|'",
    "VECTOR": "vector",
    "AND": "and",
    "OR": "or",
    "$END": "end of input",
    "<END-OF-FILE>": "end of input",
}
_DURATION_PART = re.compile(r"([0-9]+)(ms|[ywdhms])")
_DURATION_ORDER = ("y", "w", "d", "h", "m", "s", "ms")
_DURATION_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
                "m": 60_000, "s": 1000, "ms": 1}
# Strings (skipped) and the words and pattern filters an error may be about.
_WORDS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`'
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<pattern>[|!]>)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_COMPARISON = re.compile(r"==|!=|>=|<=|>|<")


def _at(token: Token) -> tuple[int, int]:
    return token.line or 1, token.column or 1


def _unsupported(what: str, construct: str, token: Token | None = None) -> UnsupportedLogQLError:
    line, column = _at(token) if token is not None else (None, None)
    return UnsupportedLogQLError(
        f"unsupported LogQL: {what} is not supported ({SUPPORTED_SUMMARY})",
        construct=construct, line=line, column=column,
        text=token.value if token is not None else None)


def _syntax(message: str, token: Token) -> QuerySyntaxError:
    line, column = _at(token)
    return QuerySyntaxError(message, line=line, column=column, text=token.value)


def parse_duration_ms(token: Token) -> int:
    """A Prometheus duration token in milliseconds; units must come largest first."""
    parts = _DURATION_PART.findall(token.value)
    units = [unit for _, unit in parts]
    ranks = [_DURATION_ORDER.index(u) for u in units]
    if ranks != sorted(set(ranks)):
        raise _syntax(f"bad duration {token.value!r}: units must go from largest to smallest, "
                      "each at most once", token)
    total = sum(int(count) * _DURATION_MS[unit] for count, unit in parts)
    if total <= 0:
        raise _syntax(f"bad duration {token.value!r}: it must be positive", token)
    return total


def _number(token: Token) -> float:
    return float(token.value)


class _ToLogQL(_ToAst):
    """Builds LogQL AST values as the parser reduces rules."""

    def start(self, children: list[Any]) -> Expr:  # type: ignore[override]
        return cast(Expr, children[0])

    def selector(self, children: list[Matcher | None]) -> Selector:
        return Selector(tuple(m for m in children if m is not None))

    def log_query(self, children: list[Any]) -> LogQuery:
        return LogQuery(children[0], tuple(
            LabelFilterStage(c) if isinstance(c, (Matcher, NumericFilter, LabelFilterAnd,
                                                  LabelFilterOr)) else c
            for c in children[1:]))

    def line_filter(self, children: list[Token]) -> LineFilter:
        op, value = children
        at = _at(value)
        return LineFilter(LineOp(op.value), unquote(value.value, *at), at)

    def parser_stage(self, children: list[Token]) -> ParserStage:
        return ParserStage(children[0].value)

    def drop_stage(self, children: list[Token]) -> DropErrors:
        drop, *names = children
        labels = tuple(dict.fromkeys(n.value for n in names))
        others = [n for n in labels if n not in ERROR_LABELS]
        if others:
            raise _unsupported(f"drop of labels other than __error__ and __error_details__ "
                               f"({', '.join(others)})", "drop", drop)
        return DropErrors(labels)

    def label_or(self, children: list[LabelFilterExpr]) -> LabelFilterExpr:
        return functools.reduce(LabelFilterOr, children)

    def label_and(self, children: list[LabelFilterExpr]) -> LabelFilterExpr:
        return functools.reduce(LabelFilterAnd, children)

    def numeric_filter(self, children: list[Token]) -> NumericFilter:
        name, op, value = children
        if op.value in (Op.RE.value, Op.NRE.value):
            raise _syntax(f"regex operator {op.value} needs a string, not a number", value)
        cmp = CmpOp.EQ if op.value == "=" else CmpOp(op.value)
        return NumericFilter(name.value, cmp, _number(value), _at(name))

    def range_aggregation(self, children: list[Any]) -> RangeAggregation:
        function, query, duration = children
        return RangeAggregation(RangeFunction(function.value), query, parse_duration_ms(duration))

    def grouping(self, children: list[Token | None]) -> Grouping:
        kind = children[0]
        assert kind is not None
        names = tuple(dict.fromkeys(t.value for t in children[1:] if t is not None))
        return Grouping(kind.value == "without", names)

    def vector_aggregation(self, children: list[Any]) -> VectorAggregation:
        op_token: Token = children[0]
        groupings = [c for c in children[1:] if isinstance(c, Grouping)]
        rest = [c for c in children[1:] if not isinstance(c, Grouping)]
        if len(groupings) > 1:
            raise _syntax(f"{op_token.value} takes one by/without clause, not two", op_token)
        parameter = None
        if op_token.type == "RANK_OP":
            number, expr = rest
            value = _number(number)
            if value != int(value) or not 1 <= value <= MAX_RANK:
                raise _syntax(f"{op_token.value} needs a whole number from 1 to {MAX_RANK}, "
                              f"not {number.value}", number)
            parameter = int(value)
        else:
            (expr,) = rest
        if isinstance(expr, LogQuery):
            raise _syntax(f"{op_token.value} aggregates a metric query such as "
                          "count_over_time({...}[5m]), not log lines", op_token)
        if not isinstance(expr, (RangeAggregation, VectorAggregation)):
            raise _unsupported(f"{op_token.value} of a literal", f"{op_token.value} of a literal",
                               op_token)
        return VectorAggregation(VectorOp(op_token.value), expr,
                                 groupings[0] if groupings else None, parameter)

    def scalar(self, children: list[Token]) -> NumberLiteral:
        return NumberLiteral(_number(children[0]))

    def vector_literal(self, children: list[Token]) -> VectorLiteral:
        return VectorLiteral(_number(children[0]))

    def binary(self, children: list[Any]) -> BinaryOp:
        left, op, right = children
        literal = (NumberLiteral, VectorLiteral, BinaryOp)
        if not isinstance(left, literal) or not isinstance(right, literal):
            raise _unsupported(f"the binary operator {op.value} between queries",
                               f"binary operator {op.value}", op)
        return BinaryOp(ArithmeticOp(op.value), left, right)


@functools.cache
def _parser() -> Lark:
    return Lark.open_from_package(
        __package__, "logql.lark", parser="lalr", lexer="contextual", transformer=_ToLogQL(),
        propagate_positions=False)


def _expected(names: Any) -> tuple[str, ...]:
    return tuple(sorted({_TERMINAL_NAMES.get(n, n.lower()) for n in names}))


def _position(text: str, pos: int) -> tuple[int, int]:
    before = text[:pos]
    return before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1


def _unsupported_before(text: str, pos: int) -> UnsupportedLogQLError | None:
    """The last unsupported LogQL construct written at or before ``pos``, if any."""
    found = None
    for m in _WORDS.finditer(text):
        if m.start() > pos:
            break
        word, pattern = m.group("word"), m.group("pattern")
        if word in UNSUPPORTED:
            found = (f"the {UNSUPPORTED[word]} {word}", word, m.start(), word)
        elif word in ("or", "and") and m.end() <= pos + len(word):
            found = (f"{word} between line filters or between queries", word, m.start(), word)
        elif pattern:
            found = (f"the pattern line filter {pattern}", f"pattern filter {pattern}",
                     m.start(), pattern)
        elif word in PARSER_STAGES and m.end() <= pos:
            found = (f"{word} with parameters", f"{word} parameters", m.start(), word)
    if found is None:
        return None
    what, construct, start, shown = found
    line, column = _position(text, start)
    return UnsupportedLogQLError(
        f"unsupported LogQL: {what} is not supported ({SUPPORTED_SUMMARY})",
        construct=construct, line=line, column=column, text=shown)


def _syntax_error(exc: UnexpectedInput, text: str) -> QuerySyntaxError:
    """Translate one of Lark's exceptions (the only place this happens)."""
    pos = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        pos = len(text)
    unsupported = _unsupported_before(text, pos)
    if unsupported is not None:
        return unsupported
    comparison = _COMPARISON.match(text, pos)
    expects = exc.allowed if isinstance(exc, UnexpectedCharacters) else exc.expected
    if comparison is not None and "CMP_OP" not in (expects or ()):
        line, column = _position(text, pos)
        return UnsupportedLogQLError(
            f"unsupported LogQL: the comparison operator {comparison.group()} between "
            f"queries is not supported ({SUPPORTED_SUMMARY})",
            construct=f"comparison operator {comparison.group()}", line=line,
            column=column, text=comparison.group())
    if isinstance(exc, UnexpectedCharacters):
        expected = _expected(exc.allowed or ())
        if text[pos] in "\"'`" and "STRING" in (exc.allowed or ()):
            return QuerySyntaxError("unterminated string", line=exc.line, column=exc.column,
                                    text=text[pos:][:40])
        return QuerySyntaxError(f"unexpected character {text[pos]!r}{_phrase(expected)}",
                                line=exc.line, column=exc.column, text=text[pos],
                                expected=expected)
    assert isinstance(exc, UnexpectedToken)
    expected = _expected(exc.expected)
    token = exc.token
    if token.type == "$END":
        line, column = _position(text, len(text))
        return QuerySyntaxError(f"unexpected end of input{_phrase(expected)}", line=line,
                                column=column, text="", expected=expected)
    shown = token.value if len(token.value) <= 40 else token.value[:37] + "..."
    return QuerySyntaxError(f"unexpected {shown!r}{_phrase(expected)}", line=token.line,
                            column=token.column, text=token.value, expected=expected)


def _parse(text: str) -> Expr:
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(f"query is {len(text)} characters long; the limit is "
                               f"{MAX_QUERY_LENGTH}")
    bad = _SURROGATE.search(text)
    if bad is not None:
        line, column = _position(text, bad.start())
        raise QuerySyntaxError("invalid Unicode: lone surrogate code point", line=line,
                               column=column)
    if not text.strip():
        raise QuerySyntaxError("empty query; a LogQL query starts with a stream selector such "
                               "as {action=\"login\"}", line=1, column=1, text="")
    try:
        return cast(Expr, _parser().parse(text))
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from exc


@functools.lru_cache(maxsize=1024)
def parse_logql(text: str) -> Expr:
    """Parse a LogQL query of the supported subset into its AST.

    Raises UnsupportedLogQLError (a QuerySyntaxError) naming a LogQL construct
    the subset lacks, and QuerySyntaxError with line, column and the expected
    tokens for anything else that does not parse. Labels and regexes are
    checked by ``compile_logql``, not here.
    """
    return _parse(text)
