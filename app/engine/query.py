"""The matcher language wired to the field registry: query text -> Elasticsearch query.

Compiled queries are cached by text (dashboards repeat the same few queries);
callers must treat the returned dict as read-only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import current_app, has_app_context

from app.config import default
from app.model.fields import REGISTRY
from query_language import compile_selector, parse


def compile_query(text: str) -> dict[str, Any]:
    """The Elasticsearch query of a matcher text; raises query_language.QueryError.

    The regex length bound is the app's ``AUDITLOG_MAX_REGEX_LENGTH``.
    """
    limit = (current_app.config["AUDITLOG_MAX_REGEX_LENGTH"] if has_app_context()
             else default("AUDITLOG_MAX_REGEX_LENGTH"))
    return _compile(text, limit)


@lru_cache(maxsize=2048)
def _compile(text: str, max_regex_length: int) -> dict[str, Any]:
    return compile_selector(parse(text), REGISTRY, max_regex_length=max_regex_length)
