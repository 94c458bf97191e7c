"""Partial search answers become errors, never fewer events than match."""

from __future__ import annotations

import pytest

from app.errors import RateLimited, StoreTimeout, StoreUnavailable
from app.store.client import incomplete_results_error


def _failed(kind: str, status: int | None = None) -> dict:
    failure = {"shard": 0, "index": "i", "reason": {"type": kind, "reason": f"{kind} happened"}}
    if status is not None:
        failure["status"] = status
    return {"_shards": {"total": 2, "successful": 1, "failed": 1, "failures": [failure]}}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"_shards": {"total": 1, "successful": 1, "failed": 0}, "timed_out": False}, None),
        ({"count": 3}, None),
        (_failed("too_many_scroll_contexts_exception"), RateLimited),
        (_failed("anything", status=429), RateLimited),
        (_failed("circuit_breaking_exception"), RateLimited),
        (_failed("search_timeout_exception"), StoreTimeout),
        (_failed("node_disconnected_exception"), StoreUnavailable),
        ({"_shards": {"total": 1, "successful": 1, "failed": 0}, "timed_out": True}, StoreTimeout),
    ],
)
def test_incomplete_results_error(body: dict, error: type | None) -> None:
    found = incomplete_results_error(body)
    assert (type(found) if found is not None else None) is error
