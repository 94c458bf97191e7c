"""A small field catalogue for the query language's unit tests (no app, no Elasticsearch)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

import pytest


@dataclasses.dataclass(frozen=True)
class FakeField:
    name: str
    type: str
    exact_field: str | None
    regex_field: str | None


def _keyword(name: str) -> FakeField:
    return FakeField(name, "keyword", name, name)


FIELDS = {
    f.name: f
    for f in (
        _keyword("action"),
        _keyword("outcome"),
        _keyword("actor.id"),
        _keyword("actor.name"),
        _keyword("target.kind"),
        _keyword("target.id"),
        _keyword("user_agent"),
        FakeField("query", "text", "query.keyword", "query.keyword"),
        FakeField("error", "text", None, None),
        FakeField("message", "text", None, None),
        FakeField("source_ip", "ip", "source_ip", None),
        FakeField("time", "date", "time", None),
        FakeField("context", "object", None, None),
    )
}
ALIASES = {"user_id": "actor.id", "action_key": "action", "target_kind": "target.kind"}
_LABEL = re.compile(r"labels\.[A-Za-z0-9_-]{1,64}")


class FakeCatalogue:
    """Implements query_language.FieldCatalogue over the dict above."""

    def lookup(self, name: str) -> FakeField | None:
        found = FIELDS.get(ALIASES.get(name, name))
        if found is None and _LABEL.fullmatch(name):
            return _keyword(name)
        return found

    def names(self) -> Iterable[str]:
        return [*FIELDS, *ALIASES]


@pytest.fixture(scope="session")
def catalogue() -> FakeCatalogue:
    return FakeCatalogue()
