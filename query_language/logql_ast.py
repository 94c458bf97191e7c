"""The LogQL AST: frozen values with a canonical text form.

``to_string()`` prints the form ``parse_logql`` reads back to an equal node:
``{a="b"} |= "x" | json | c="d"``, ``count_over_time({a="b"}[5m])``,
``sum by (a) (rate({a="b"}[1m]))``, ``topk(3, ...)``. The stream selector and
label matchers are the selector language's own ``Selector`` and ``Matcher``.
"""

from __future__ import annotations

import dataclasses
import enum
import math

from query_language.ast import Matcher, Selector
from query_language.string_literals import quote

_UNITS = (("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
          ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def format_duration(ms: int) -> str:
    """A duration in milliseconds as Prometheus writes it (``1h30m``, ``250ms``, ``0s``)."""
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_number(value: float) -> str:
    """A number as LogQL reads it: integers without a fraction, others by repr."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class LineOp(enum.StrEnum):
    """Line filter operators."""

    CONTAINS = "|="
    NOT_CONTAINS = "!="
    MATCHES = "|~"
    NOT_MATCHES = "!~"

    @property
    def is_regex(self) -> bool:
        """Whether the value is a regex."""
        return self in (LineOp.MATCHES, LineOp.NOT_MATCHES)

    @property
    def is_negative(self) -> bool:
        """Whether the filter keeps the lines that do not match."""
        return self in (LineOp.NOT_CONTAINS, LineOp.NOT_MATCHES)


class CmpOp(enum.StrEnum):
    """Numeric label filter operators."""

    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


@dataclasses.dataclass(frozen=True, slots=True)
class LineFilter:
    """``|= "text"`` and friends: keeps the lines that contain (or match) the value."""

    op: LineOp
    value: str
    value_at: tuple[int, int] | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_string(self) -> str:
        """The canonical text of this filter."""
        return f"{self.op.value} {quote(self.value)}"


@dataclasses.dataclass(frozen=True, slots=True)
class ParserStage:
    """``| json`` or ``| logfmt``: the line is already JSON labels, so a no-op here."""

    name: str

    def to_string(self) -> str:
        """The canonical text of this stage."""
        return f"| {self.name}"


# Labels Loki adds when a parser stage fails; no stage here fails, so they are always empty.
ERROR_LABELS = frozenset({"__error__", "__error_details__"})


@dataclasses.dataclass(frozen=True, slots=True)
class DropErrors:
    """``| drop __error__, __error_details__`` (Grafana adds it): a no-op here."""

    labels: tuple[str, ...]

    def to_string(self) -> str:
        """The canonical text of this stage."""
        return f"| drop {', '.join(self.labels)}"


@dataclasses.dataclass(frozen=True, slots=True)
class NumericFilter:
    """``| label >= 400``: the label's value read as a decimal number."""

    label: str
    op: CmpOp
    value: float
    label_at: tuple[int, int] | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_string(self) -> str:
        """The canonical text of this filter."""
        return f"{self.label} {self.op.value} {format_number(self.value)}"


@dataclasses.dataclass(frozen=True, slots=True)
class LabelFilterAnd:
    """Both label filters hold (written ``and`` or ``,``)."""

    left: LabelFilterExpr
    right: LabelFilterExpr

    def to_string(self) -> str:
        """The canonical text of this filter."""
        left = _filter_text(self.left, LabelFilterOr)
        return f"{left} and {_filter_text(self.right, (LabelFilterOr, LabelFilterAnd))}"


@dataclasses.dataclass(frozen=True, slots=True)
class LabelFilterOr:
    """Either label filter holds."""

    left: LabelFilterExpr
    right: LabelFilterExpr

    def to_string(self) -> str:
        """The canonical text of this filter."""
        return f"{_filter_text(self.left, ())} or {_filter_text(self.right, (LabelFilterOr,))}"


LabelFilterExpr = Matcher | NumericFilter | LabelFilterAnd | LabelFilterOr


# After "|" these words are stages, so a label filter on such a field quotes its name.
PARSER_WORDS = frozenset({"json", "logfmt", "drop"})


def _filter_text(node: LabelFilterExpr, parenthesised: type | tuple[type, ...]) -> str:
    if isinstance(node, Matcher) and node.field in PARSER_WORDS:
        return f"{quote(node.field)}{node.op.value}{quote(node.value)}"
    text = node.to_string()
    return f"({text})" if isinstance(node, parenthesised) else text


@dataclasses.dataclass(frozen=True, slots=True)
class LabelFilterStage:
    """``| outcome="failure"``: a label filter after the pipeline."""

    expr: LabelFilterExpr

    def to_string(self) -> str:
        """The canonical text of this stage."""
        return f"| {_filter_text(self.expr, ())}"


Stage = LineFilter | ParserStage | DropErrors | LabelFilterStage


@dataclasses.dataclass(frozen=True, slots=True)
class LogQuery:
    """A stream selector and its pipeline: selects log lines."""

    selector: Selector
    stages: tuple[Stage, ...] = ()

    def to_string(self) -> str:
        """The canonical text of this query."""
        return " ".join((self.selector.to_string(), *(s.to_string() for s in self.stages)))


class RangeFunction(enum.StrEnum):
    """Functions over a range of log lines."""

    COUNT_OVER_TIME = "count_over_time"
    RATE = "rate"
    BYTES_OVER_TIME = "bytes_over_time"
    BYTES_RATE = "bytes_rate"


@dataclasses.dataclass(frozen=True, slots=True)
class RangeAggregation:
    """``count_over_time({...}[5m])``: one sample per stream and step."""

    function: RangeFunction
    query: LogQuery
    range_ms: int

    def to_string(self) -> str:
        """The canonical text of this aggregation."""
        return f"{self.function.value}({self.query.to_string()}[{format_duration(self.range_ms)}])"


class VectorOp(enum.StrEnum):
    """Aggregations across series."""

    SUM = "sum"
    COUNT = "count"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    TOPK = "topk"
    BOTTOMK = "bottomk"

    @property
    def takes_parameter(self) -> bool:
        """Whether a number comes before the expression (``topk(3, ...)``)."""
        return self in (VectorOp.TOPK, VectorOp.BOTTOMK)


@dataclasses.dataclass(frozen=True, slots=True)
class Grouping:
    """``by (a, b)`` or ``without (a, b)``."""

    without: bool
    labels: tuple[str, ...]

    def to_string(self) -> str:
        """The canonical text of this grouping."""
        return f"{'without' if self.without else 'by'} ({', '.join(self.labels)})"


@dataclasses.dataclass(frozen=True, slots=True)
class VectorAggregation:
    """``sum by (a) (expr)``, ``topk(3, expr)``."""

    op: VectorOp
    expr: MetricExpr
    grouping: Grouping | None = None
    parameter: int | None = None

    def to_string(self) -> str:
        """The canonical text of this aggregation."""
        head = self.op.value + (f" {self.grouping.to_string()} " if self.grouping else "")
        inner = self.expr.to_string()
        if self.parameter is not None:
            inner = f"{self.parameter}, {inner}"
        return f"{head}({inner})"


@dataclasses.dataclass(frozen=True, slots=True)
class NumberLiteral:
    """A scalar: ``2``."""

    value: float

    def to_string(self) -> str:
        """The canonical text of this literal."""
        return format_number(self.value)


@dataclasses.dataclass(frozen=True, slots=True)
class VectorLiteral:
    """``vector(1)``: one sample without labels at every step."""

    value: float

    def to_string(self) -> str:
        """The canonical text of this literal."""
        return f"vector({format_number(self.value)})"


class ArithmeticOp(enum.StrEnum):
    """Binary arithmetic, by precedence: ``^``, then ``* / %``, then ``+ -``."""

    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    MOD = "%"
    POW = "^"

    @property
    def precedence(self) -> int:
        """Higher binds tighter."""
        return {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2, "^": 3}[self.value]


@dataclasses.dataclass(frozen=True, slots=True)
class BinaryOp:
    """Arithmetic on literals (``vector(1)+vector(1)``, Grafana's data source test)."""

    op: ArithmeticOp
    left: LiteralExpr
    right: LiteralExpr

    def to_string(self) -> str:
        """The canonical text, parenthesised only where precedence needs it."""
        return f"{self._side(self.left, False)} {self.op.value} {self._side(self.right, True)}"

    def _side(self, node: LiteralExpr, right: bool) -> str:
        text = node.to_string()
        if not isinstance(node, BinaryOp):
            return text
        mine, theirs = self.op.precedence, node.op.precedence
        # ^ is right-associative, the others left-associative.
        right_assoc = self.op is ArithmeticOp.POW
        needs = theirs < mine or (theirs == mine and right != right_assoc)
        return f"({text})" if needs else text


LiteralExpr = NumberLiteral | VectorLiteral | BinaryOp
MetricExpr = RangeAggregation | VectorAggregation
Expr = LogQuery | MetricExpr | LiteralExpr
