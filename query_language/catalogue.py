"""What the compiler needs to know about fields: the catalogue protocol.

The service's field registry (``app/model/fields.py``) implements it; the
compiler never imports it. Names are the query language's field names,
aliases included, and ``FieldInfo.name`` is the canonical dotted name, which is
also the field's path in Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

# The values of FieldInfo.type.
KEYWORD = "keyword"  # exact strings: every operator
TEXT = "text"  # analysed text; with a keyword sub-field (exact_field) it behaves as keyword
IP = "ip"  # = and != with an address or CIDR; no regex
DATE = "date"  # filtered by the time window, not by matchers
OBJECT = "object"  # stored, not indexed: not queryable


class FieldInfo(Protocol):
    """One queryable field as the compiler sees it."""

    @property
    def name(self) -> str:
        """Canonical dotted name, also the Elasticsearch field path."""
        ...

    @property
    def type(self) -> str:
        """One of "keyword", "text", "ip", "date", "object"."""
        ...

    @property
    def exact_field(self) -> str | None:
        """The field for term/exists/equality (``query.keyword``), or None for text-only."""
        ...

    @property
    def regex_field(self) -> str | None:
        """The keyword field a regexp runs on, or None when regexes do not apply."""
        ...


class FieldCatalogue(Protocol):
    """Resolves query field names, aliases included."""

    def lookup(self, name: str) -> FieldInfo | None:
        """The field a name (canonical or alias) means, or None if it is unknown."""
        ...

    def names(self) -> Iterable[str]:
        """Every name a query may use, aliases included (for "did you mean")."""
        ...
