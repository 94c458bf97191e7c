"""The one field registry (DESIGN §4, STYLE rule 4).

Every field of the event, its Elasticsearch type, the aliases the query
language accepts, and the name each compatibility surface shows it under.
The query compiler, the aggregations, the surfaces, the ``fields`` endpoint
and the index-template test all read this table; nothing else lists fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Elasticsearch mapping kinds used by the event.
KEYWORD = "keyword"
TEXT = "text"
TEXT_KEYWORD = "text_keyword"  # text with a `.keyword` sub-field
DATE = "date"  # date_nanos in the index
IP = "ip"
OBJECT = "object"  # stored, not indexed

LABEL_PREFIX = "labels."
# Derived fields of the index, not of the event (never in _source, never a matcher's field):
# every string, ip and date value is copied into LINE_TEXT (LogQL line filters), and
# LINE_BYTES is the size of the event's JSON (bytes_over_time).
LINE_TEXT = "line_text"
LINE_BYTES = "line_bytes"
LABEL_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Decimal text that round-trips through int (no leading zeros, fits a signed 64-bit int).
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,17}")

# Surfaces that rename fields.
IMMUTA = "immuta"
RUNAI = "runai"
WASABI = "wasabi"

# Shapes of a field's second view on a surface (``Derived``).
SUCCESS = "success"  # outcome success/failure as true/false; any other outcome: left out
LIST = "list"  # the value as a JSON array (decimal strings as integers where numeric)
SUCCESS_OF_OUTCOME = {"success": True, "failure": False}


@dataclass(frozen=True)
class Derived:
    """A second view of a field on a surface: another name, the value in another shape
    (Immuta's ``success`` from ``outcome``, its ``purposeIds`` array from ``purpose``)."""

    surface: str
    name: str
    shape: str


@dataclass(frozen=True)
class Field:
    """One event field: canonical dotted name (also the index path) and how it is used."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    surfaces: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""
    # Surfaces whose seed types this field as an integer: a stored decimal string is
    # shown there as a number (``"1001"`` -> ``1001``); any other value stays a string.
    numeric_on: frozenset[str] = frozenset()
    # Views shown beside the field's own (``surfaces``); never sort or filter names.
    derived: tuple[Derived, ...] = ()

    @property
    def type(self) -> str:
        """The kind as the query language sees it: keyword, text, ip, date or object."""
        return TEXT if self.kind == TEXT_KEYWORD else self.kind

    @property
    def exact_field(self) -> str | None:
        """The indexed field for equality and existence, or None for text-only fields."""
        if self.kind in (KEYWORD, IP, DATE):
            return self.name
        if self.kind == TEXT_KEYWORD:
            return f"{self.name}.keyword"
        return None

    @property
    def regex_field(self) -> str | None:
        """The keyword field a regexp runs on, or None when regexes do not apply."""
        if self.kind == KEYWORD:
            return self.name
        if self.kind == TEXT_KEYWORD:
            return f"{self.name}.keyword"
        return None

    @property
    def aggregatable(self) -> bool:
        """Whether terms/cardinality aggregations may use it."""
        return self.kind in (KEYWORD, TEXT_KEYWORD, IP)

    def surface_value(self, surface: str, value: Any) -> Any:
        """A stored value as ``surface`` shows it (decimal strings as integers where numeric)."""
        if surface in self.numeric_on and isinstance(value, str) and _DECIMAL.fullmatch(value):
            return int(value)
        return value


    def derived_value(self, view: Derived, value: Any) -> Any:
        """A stored value in the shape of a derived view; None when it has none."""
        if view.shape == SUCCESS:
            return SUCCESS_OF_OUTCOME.get(value) if isinstance(value, str) else None
        values = value if isinstance(value, list) else [value]
        return [self.surface_value(view.surface, item) for item in values]


def _f(name: str, kind: str, *aliases: str, doc: str = "", numeric: tuple[str, ...] = (),
       derived: tuple[Derived, ...] = (), **surfaces: str) -> Field:
    return Field(name, kind, tuple(aliases), MappingProxyType(dict(surfaces)), doc,
                 frozenset(numeric), derived)


FIELDS: tuple[Field, ...] = (
    _f("id", KEYWORD, doc="event id", numeric=(IMMUTA, RUNAI), immuta="id", runai="id",
       wasabi="id"),
    _f("time", DATE, "ctime", "happenedAt", "dateTime", doc="when it happened",
       immuta="dateTime", runai="happenedAt", wasabi="time"),
    _f("ingested_at", DATE, doc="when the service stored it (its own clock; the follow "
       "feed's order)"),
    _f("namespace", KEYWORD, doc="tenant scope, from the URL"),
    _f("action", KEYWORD, "action_key", doc="what was done", immuta="action",
       runai="action", wasabi="action_key"),
    _f("outcome", KEYWORD, doc="success, failure or unknown", immuta="outcome",
       derived=(Derived(IMMUTA, "success", SUCCESS), Derived(RUNAI, "success", SUCCESS))),
    _f("actor.id", KEYWORD, "user_id", "source_id", "profileId", "sourceId",
       doc="who did it", numeric=(IMMUTA,), immuta="profileId", runai="sourceId",
       wasabi="user_id"),
    _f("actor.name", KEYWORD, "source_name", "sourceName", immuta="userId",
       runai="sourceName"),
    _f("actor.email", KEYWORD, "email", doc="the actor's email address", immuta="email"),
    _f("actor.type", KEYWORD, "source_type", "sourceType", runai="sourceType"),
    _f("actor.group_id", KEYWORD, "group_id", wasabi="group_id"),
    _f("target.kind", KEYWORD, "target_kind", "entity_type", "entityType",
       runai="entityType", wasabi="target_kind"),
    _f("target.id", KEYWORD, "target_id", "entity_id", "entityId",
       runai="entityId", wasabi="target_id"),
    _f("target.name", KEYWORD, "entity_name", "entityName", runai="entityName"),
    _f("target.additional_id", KEYWORD, "additional_id", wasabi="additional_id"),
    _f("tenant_id", KEYWORD, "tenantId", numeric=(RUNAI,), runai="tenantId"),
    _f("cluster_uuid", KEYWORD, "clusterUuid", runai="clusterUuid"),
    _f("project_id", KEYWORD, "projectId", numeric=(IMMUTA,), immuta="projectId"),
    _f("project_name", KEYWORD, "projectName", immuta="projectName"),
    _f("data_source_id", KEYWORD, "dataSourceId", numeric=(IMMUTA,), immuta="dataSourceId"),
    _f("data_source_name", KEYWORD, "dataSourceName", immuta="dataSourceName"),
    _f("record_type", KEYWORD, "recordType", numeric=(IMMUTA,), immuta="recordType"),
    _f("purpose", KEYWORD, numeric=(IMMUTA,), immuta="purpose",
       derived=(Derived(IMMUTA, "purposeIds", LIST),)),
    _f("blob_id", KEYWORD, "blobId", immuta="blobId"),
    _f("version", KEYWORD, runai="version"),
    _f("query", TEXT_KEYWORD, doc="query text of a data-access event", immuta="query"),
    _f("error", TEXT, doc="error of a failed action", runai="error",
       immuta="failureReason"),
    _f("source_ip", IP, "ip"),
    _f("user_agent", KEYWORD),
    _f("api_key_id", KEYWORD, doc="API key that caused the event", immuta="apiKeyId"),
    _f("message", TEXT, doc="free text"),
    _f("context", OBJECT, doc="stored as given", immuta="extra", runai="context"),
    _f("body", OBJECT, doc="stored as given", runai="body"),
)


class FieldRegistry:
    """Look-ups over FIELDS: canonical names, aliases and ``labels.<key>``.

    It satisfies the query language's catalogue protocol (``lookup``, ``names``).
    """

    def __init__(self, fields: Iterable[Field]) -> None:
        self._fields = tuple(fields)
        self._by_name: dict[str, Field] = {}
        for f in self._fields:
            for name in (f.name, *f.aliases):
                if name in self._by_name:
                    raise ValueError(f"field name {name!r} registered twice")
                self._by_name[name] = f

    def __iter__(self) -> Iterator[Field]:
        return iter(self._fields)

    def lookup(self, name: str) -> Field | None:
        """The field a query name means (canonical, alias or label), or None."""
        found = self._by_name.get(name)
        if found is not None:
            return found
        if name.startswith(LABEL_PREFIX) and LABEL_KEY.fullmatch(name[len(LABEL_PREFIX):]):
            return Field(name, KEYWORD, doc="free-form label")
        return None

    def names(self) -> list[str]:
        """Every name a query may use, canonical names first (for suggestions)."""
        canonical = [f.name for f in self._fields]
        return canonical + [a for f in self._fields for a in f.aliases]

    def stream_labels(self) -> tuple[Field, ...]:
        """The Loki-compatible API's stream labels: keyword and ip fields but the event id
        (``labels.*`` are stream labels too; their keys are found in the index)."""
        return tuple(f for f in self._fields if f.kind in (KEYWORD, IP) and f.name != "id")

    def for_surface(self, surface: str) -> dict[str, Field]:
        """Surface name -> field, for the fields a compatibility surface shows."""
        return {f.surfaces[surface]: f for f in self._fields if surface in f.surfaces}


REGISTRY = FieldRegistry(FIELDS)
