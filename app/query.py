"""The matcher language wired to the field registry: query text -> Elasticsearch query.

Compiled queries are cached by text (dashboards repeat the same few queries);
callers must treat the returned dict as read-only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from app.fields import REGISTRY
from query_language import compile_selector, parse


@lru_cache(maxsize=2048)
def compile_query(text: str) -> dict[str, Any]:
    """The Elasticsearch query of a matcher text; raises query_language.QueryError."""
    return compile_selector(parse(text), REGISTRY)
