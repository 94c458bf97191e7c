"""Flask's JSON provider backed by orjson: the search responses are the hot path.

Key order is kept as built (no sorting). Anything orjson cannot encode (an
integer beyond 64 bits, an unknown type) falls back to Flask's default provider.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    """``jsonify``, ``app.json.dumps`` and returned dicts serialised with orjson."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise ``obj`` to a JSON string."""
        if kwargs:
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, option=_OPTIONS).decode()
        except (orjson.JSONEncodeError, TypeError):
            return super().dumps(obj)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a JSON document."""
        if kwargs:
            return super().loads(s, **kwargs)
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response of the arguments, as ``jsonify`` builds it."""
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            return super().response(obj)
        return self._app.response_class(body, mimetype=self.mimetype)


def init_app(app: Flask) -> None:
    """Install the orjson provider on ``app``."""
    app.json = OrjsonProvider(app)
