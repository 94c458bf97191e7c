"""The selector AST: frozen values with a canonical text form.

``Selector.to_string()`` prints ``{field="value", ...}`` with the matchers in
their given order, bare field names where the grammar allows them (quoted
otherwise) and values as canonical double-quoted strings, so that
``parse(s.to_string()) == s`` for every selector ``s``.
"""

from __future__ import annotations

import dataclasses
import enum
import re

from query_language.string_literals import quote

# Field names that need no quotes; the grammar's NAME terminal is the same pattern.
BARE_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_\-]+)*")


class Op(enum.StrEnum):
    """The four matcher operators, valued as they are written."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"

    @property
    def is_regex(self) -> bool:
        """Whether the value is a regex."""
        return self is Op.RE or self is Op.NRE

    @property
    def is_negative(self) -> bool:
        """Whether the matcher excludes what its value describes."""
        return self is Op.NE or self is Op.NRE


@dataclasses.dataclass(frozen=True, slots=True)
class Matcher:
    """One ``field op "value"`` term. Positions are for error messages, not equality."""

    field: str
    op: Op
    value: str
    field_at: tuple[int, int] | None = dataclasses.field(default=None, compare=False, repr=False)
    value_at: tuple[int, int] | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_string(self) -> str:
        """The canonical text of this matcher."""
        name = self.field if BARE_FIELD.fullmatch(self.field) else quote(self.field)
        return f"{name}{self.op.value}{quote(self.value)}"


@dataclasses.dataclass(frozen=True, slots=True)
class Selector:
    """A set of matchers, all of which must hold; no matchers matches everything."""

    matchers: tuple[Matcher, ...] = ()

    def to_string(self) -> str:
        """The canonical text of this selector, e.g. ``{action="login"}``; ``{}`` when empty."""
        return "{" + ", ".join(m.to_string() for m in self.matchers) + "}"
