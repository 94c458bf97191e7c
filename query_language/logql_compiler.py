"""LogQL AST to Elasticsearch query pieces: ``compile_logql(expr, catalogue, line_field=...)``.

A pure function. Labels are field names with ``.`` written ``_`` (``actor_id``
is ``actor.id``, ``labels_team`` is ``labels.team``); a field's own name or
alias is accepted too. The stream selector and string label filters are
compiled by the selector compiler (same semantics, same errors); line filters
and numeric label filters are compiled here:

==========================  ==========================================================
LogQL                       Elasticsearch
==========================  ==========================================================
``|= "s"`` / ``!= "s"``     ``wildcard *s*`` on the line field (in filter / must_not)
``|~ "re"`` / ``!~ "re"``   ``regexp`` of the RE2 pattern, unanchored, on the line field
``| f >= 400`` (etc.)       ``regexp`` with Lucene's numeric interval ``<400-999>``
``| json``, ``| logfmt``    nothing: an event's fields already are its labels
``| drop __error__``        nothing: no stage fails, so Loki's error labels are always
                            empty (and ``| __error__=""`` holds for every line)
==========================  ==========================================================

The line field is a keyword field that holds every string value of the event
(see the service's index template); a line filter matches an event when one of
those values contains the string (or a match of the regex). A numeric label
filter matches values written as non-negative decimal integers (leading zeros
allowed); any other value, and a missing label, does not match.

A metric query becomes a ``MetricPlan``: the event query, the range function
and range, and the vector aggregations to apply, innermost first, with their
labels resolved to fields. Arithmetic on literals is evaluated here.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable
from typing import Any

from query_language.ast import Matcher, Op, Selector
from query_language.catalogue import KEYWORD, FieldCatalogue
from query_language.compiler import MAX_REGEX_LENGTH, REGEXP_FLAGS, compile_selector
from query_language.errors import (
    FieldTypeError,
    InvalidValueError,
    RegexError,
    RegexTooLongError,
)
from query_language.logql_ast import (
    ERROR_LABELS,
    ArithmeticOp,
    BinaryOp,
    CmpOp,
    Expr,
    LabelFilterAnd,
    LabelFilterExpr,
    LabelFilterOr,
    LabelFilterStage,
    LineFilter,
    LineOp,
    LogQuery,
    NumberLiteral,
    NumericFilter,
    RangeAggregation,
    RangeFunction,
    VectorAggregation,
    VectorLiteral,
    VectorOp,
)
from query_language.lucene_regex import translate, translate_search

Query = dict[str, Any]

LABEL_PREFIX = "labels."
# Lucene's numeric interval takes Java ints; bounds are kept to nine digits.
MAX_NUMERIC_BOUND = 999_999_999
ALL: Query = {"match_all": {}}
NOTHING: Query = {"bool": {"must_not": [{"match_all": {}}]}}
_WILDCARD_SPECIAL = str.maketrans({"\\": "\\\\", "*": "\\*", "?": "\\?"})


def label_name(field: str) -> str:
    """The Loki label name of a field: its dotted name with ``.`` written ``_``."""
    return field.replace(".", "_")


def label_field(label: str, catalogue: FieldCatalogue) -> str | None:
    """The canonical field a Loki label name means, or None when there is none.

    ``actor_id`` -> ``actor.id``; ``labels_team`` -> ``labels.team``; a field's
    own name or alias (``target_kind``, ``action``) is accepted as well.
    """
    for name in catalogue.names():
        if "." in name and label_name(name) == label:
            return name
    found = catalogue.lookup(label)
    if found is not None:
        return found.name
    if label.startswith("labels_"):
        found = catalogue.lookup(LABEL_PREFIX + label[len("labels_"):])
        if found is not None:
            return found.name
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class LogSelection:
    """A log query: the Elasticsearch query that selects its lines."""

    query: Query


@dataclasses.dataclass(frozen=True, slots=True)
class ResolvedGrouping:
    """A by/without clause; ``fields`` are the labels' fields (None: no such field)."""

    without: bool
    labels: tuple[str, ...]
    fields: tuple[str | None, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class VectorStep:
    """One vector aggregation of a metric query."""

    op: VectorOp
    grouping: ResolvedGrouping | None
    parameter: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class MetricPlan:
    """A metric query: events (``query``), per-stream range function, then ``steps``."""

    query: Query
    function: RangeFunction
    range_ms: int
    steps: tuple[VectorStep, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class LiteralValue:
    """Arithmetic on literals: a scalar, or a vector of one sample without labels."""

    value: float
    vector: bool


Compiled = LogSelection | MetricPlan | LiteralValue


def compile_logql(
    expr: Expr,
    catalogue: FieldCatalogue,
    *,
    line_field: str,
    max_regex_length: int = MAX_REGEX_LENGTH,
) -> Compiled:
    """Compile a parsed LogQL query (a fresh value on every call).

    Raises what ``compile_selector`` raises for selectors and string label
    filters (UnknownFieldError, FieldTypeError, InvalidValueError, RegexError),
    FieldTypeError for a numeric filter on a field that is not a keyword, and
    InvalidValueError for a numeric bound beyond MAX_NUMERIC_BOUND.
    """
    if isinstance(expr, LogQuery):
        return LogSelection(_log_query(expr, catalogue, line_field, max_regex_length))
    if isinstance(expr, (NumberLiteral, VectorLiteral, BinaryOp)):
        value, vector = _evaluate(expr)
        return LiteralValue(value, vector)
    steps: list[VectorStep] = []
    node: Any = expr
    while isinstance(node, VectorAggregation):
        steps.append(VectorStep(node.op, _grouping(node, catalogue), node.parameter))
        node = node.expr
    assert isinstance(node, RangeAggregation)
    query = _log_query(node.query, catalogue, line_field, max_regex_length)
    return MetricPlan(query, node.function, node.range_ms, tuple(reversed(steps)))


def _grouping(node: VectorAggregation, catalogue: FieldCatalogue) -> ResolvedGrouping | None:
    if node.grouping is None:
        return None
    labels = node.grouping.labels
    return ResolvedGrouping(node.grouping.without, labels,
                            tuple(label_field(label, catalogue) for label in labels))


def _log_query(query: LogQuery, catalogue: FieldCatalogue, line_field: str,
               max_regex_length: int) -> Query:
    selector = Selector(tuple(_resolved(m, catalogue) for m in query.selector.matchers))
    base = compile_selector(selector, catalogue, max_regex_length=max_regex_length)
    filters: list[Query] = [] if "match_all" in base else [base]
    must_not: list[Query] = []
    for stage in query.stages:
        if isinstance(stage, LineFilter):
            _line_filter(stage, line_field, max_regex_length, filters, must_not)
        elif isinstance(stage, LabelFilterStage):
            filters.append(_label_filter(stage.expr, catalogue, max_regex_length))
    if not filters and not must_not:
        return {"match_all": {}}
    if len(filters) == 1 and not must_not:
        return filters[0]
    clauses: Query = {}
    if filters:
        clauses["filter"] = filters
    if must_not:
        clauses["must_not"] = must_not
    return {"bool": clauses}


def _resolved(m: Matcher, catalogue: FieldCatalogue) -> Matcher:
    """The matcher with its label name replaced by the field it means (when known)."""
    field = label_field(m.field, catalogue)
    if field is None or field == m.field:
        return m
    return dataclasses.replace(m, field=field)


def _line_filter(f: LineFilter, line_field: str, max_regex_length: int,
                 filters: list[Query], must_not: list[Query]) -> None:
    target = must_not if f.op.is_negative else filters
    if not f.op.is_regex:
        if f.value == "":  # every line contains ""
            if f.op is LineOp.NOT_CONTAINS:
                must_not.append({"match_all": {}})
            return
        pattern = "*" + f.value.translate(_WILDCARD_SPECIAL) + "*"
        target.append({"wildcard": {line_field: {"value": pattern}}})
        return
    line, column = f.value_at or (None, None)
    if len(f.value) > max_regex_length:
        raise RegexTooLongError(
            f"regex is {len(f.value)} characters long; the limit is {max_regex_length}",
            regex=f.value, limit=max_regex_length, line=line, column=column)
    try:
        regex = translate_search(f.value)
    except RegexError as exc:
        raise exc.at(line, column) from None
    if regex.matches_everything:
        if f.op is LineOp.NOT_MATCHES:
            must_not.append({"match_all": {}})
        return
    if len(regex.value) > max_regex_length:
        raise RegexTooLongError(
            f"regex is {len(regex.value)} characters long once translated to Lucene syntax; "
            f"the limit is {max_regex_length}",
            regex=f.value, limit=max_regex_length, line=line, column=column)
    body: Query = {"value": regex.value, "flags": REGEXP_FLAGS}
    if regex.case_insensitive:
        body["case_insensitive"] = True
    target.append({"regexp": {line_field: body}})


def _label_filter(expr: LabelFilterExpr, catalogue: FieldCatalogue,
                  max_regex_length: int) -> Query:
    if isinstance(expr, LabelFilterAnd):
        return {"bool": {"filter": [_label_filter(expr.left, catalogue, max_regex_length),
                                    _label_filter(expr.right, catalogue, max_regex_length)]}}
    if isinstance(expr, LabelFilterOr):
        return {"bool": {"should": [_label_filter(expr.left, catalogue, max_regex_length),
                                    _label_filter(expr.right, catalogue, max_regex_length)],
                         "minimum_should_match": 1}}
    if isinstance(expr, NumericFilter):
        return NOTHING if expr.label in ERROR_LABELS else _numeric_filter(expr, catalogue)
    if expr.field in ERROR_LABELS:
        return ALL if _matches_empty(expr) else NOTHING
    return compile_selector(Selector((_resolved(expr, catalogue),)), catalogue,
                            max_regex_length=max_regex_length)


def _matches_empty(m: Matcher) -> bool:
    """Whether a matcher holds for a label that is always empty (Loki's __error__ here)."""
    if m.op.is_regex:
        try:
            holds = translate(m.value).matches_empty
        except RegexError as exc:
            raise exc.at(*(m.value_at or (None, None))) from None
    else:
        holds = m.value == ""
    return holds != m.op.is_negative


def _numeric_filter(f: NumericFilter, catalogue: FieldCatalogue) -> Query:
    line, column = f.label_at or (None, None)
    field = label_field(f.label, catalogue)
    if field is None:
        # Let the selector compiler say "unknown field" with its suggestions.
        compile_selector(Selector((Matcher(f.label, Op.EQ, "", f.label_at, f.label_at),)),
                         catalogue)
        raise AssertionError("unreachable: an unknown field was compiled")  # pragma: no cover
    info = catalogue.lookup(field)
    assert info is not None
    if info.type != KEYWORD or info.regex_field is None:
        raise FieldTypeError(f"numeric label filters need a keyword field; {f.label} is of "
                             f"type {info.type}", field=f.label, field_type=info.type,
                             line=line, column=column, text=f.label)
    target = info.regex_field
    value = f.value
    if math.isfinite(value) and abs(value) > MAX_NUMERIC_BOUND:
        raise InvalidValueError(f"numeric label filters take bounds up to {MAX_NUMERIC_BOUND}, "
                                f"not {f.value:g}", field=f.label, line=line, column=column)
    number = {"regexp": {target: {"value": "[0-9]+", "flags": REGEXP_FLAGS}}}
    nothing = NOTHING
    whole = value == int(value)
    if f.op in (CmpOp.EQ, CmpOp.NE):
        if not whole or value < 0:
            return number if f.op is CmpOp.NE else nothing
        equal = _interval(target, int(value), int(value))
        return equal if f.op is CmpOp.EQ else {"bool": {"filter": [number],
                                                        "must_not": [equal]}}
    if f.op in (CmpOp.GT, CmpOp.GE):
        low = math.floor(value) + 1 if (f.op is CmpOp.GT or not whole) else int(value)
        return number if low <= 0 else _at_least(target, low)
    high = math.ceil(value) - 1 if (f.op is CmpOp.LT or not whole) else int(value)
    return nothing if high < 0 else _interval(target, 0, high)


def _interval(field: str, low: int, high: int) -> Query:
    """Decimal values from low to high, leading zeros allowed (Lucene's ``<low-high>``)."""
    return {"regexp": {field: {"value": f"0*<{low}-{high}>", "flags": "INTERVAL"}}}


def _at_least(field: str, low: int) -> Query:
    digits = len(str(low))
    # Numbers with more significant digits than the bound are all larger than it.
    longer = f"0*[1-9][0-9]{{{digits},}}"
    if low == 10 ** (digits - 1):  # 1, 10, 100...: every number with at least that many digits
        value = f"0*[1-9][0-9]{{{digits - 1},}}"
    else:
        value = f"0*<{low}-{10**digits - 1}>|{longer}"
    return {"regexp": {field: {"value": value, "flags": "INTERVAL"}}}


_ARITHMETIC: dict[ArithmeticOp, Callable[[float, float], float]] = {
    ArithmeticOp.ADD: operator.add,
    ArithmeticOp.SUB: operator.sub,
    ArithmeticOp.MUL: operator.mul,
    ArithmeticOp.DIV: lambda a, b: a / b if b else (math.nan if a == 0 else math.copysign(
        math.inf, a)),
    ArithmeticOp.MOD: lambda a, b: math.fmod(a, b) if b else math.nan,
    ArithmeticOp.POW: lambda a, b: _power(a, b),
}


def _power(a: float, b: float) -> float:
    try:
        return float(a**b) if not isinstance(a**b, complex) else math.nan
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.inf


def _evaluate(expr: NumberLiteral | VectorLiteral | BinaryOp) -> tuple[float, bool]:
    """The value and whether it is a vector (a vector on either side makes one)."""
    if isinstance(expr, NumberLiteral):
        return expr.value, False
    if isinstance(expr, VectorLiteral):
        return expr.value, True
    left, left_vector = _evaluate(expr.left)
    right, right_vector = _evaluate(expr.right)
    return _ARITHMETIC[expr.op](left, right), left_vector or right_vector
