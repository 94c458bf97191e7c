"""Reading a JSON request body, with malformed JSON as a 400 that says where."""

from __future__ import annotations

from typing import Any

import orjson
from flask import request

from app.errors import InvalidInput, malformed_json


def request_json(default_empty: bool = True) -> Any:
    """The parsed JSON body (``{}`` when empty and allowed); InvalidInput with line/column."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if default_empty:
            return {}
        raise InvalidInput("the request body is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise malformed_json(exc) from None
