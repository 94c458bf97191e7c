"""The search engine of the current app, made once per app over its store.

``engine_extension.init_app(app)`` (after the store's) registers the state;
``current_engine()`` answers the SearchEngine of the current app and raises a
RuntimeError that says so when used before ``init_app``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from app.engine.scroll_token import ScrollTokens
from app.engine.search import SearchEngine
from app.store.extension import StoreState
from app.store.extension import store as store_extension

EXTENSION = "auditlog.engine"


class EngineState:
    """The engine of one app: its token signer and the lazily made SearchEngine."""

    def __init__(self, config: Mapping[str, Any], store: StoreState) -> None:
        self.config = config
        self.store = store
        secret = config.get("AUDITLOG_SECRET")
        self.tokens = ScrollTokens(secret.encode() if secret else os.urandom(32))
        self._lock = threading.Lock()
        self._engine: SearchEngine | None = None

    @property
    def engine(self) -> SearchEngine:
        """The search engine (its client is made on first use)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = SearchEngine(self.store.events, self.tokens,
                                                self.config["AUDITLOG_SCROLL_KEEPALIVE"],
                                                self.config["AUDITLOG_EXPORT_READERS"])
        return self._engine


class EngineExtension:
    """The extension object; ``init_app`` needs the store extension initialised first."""

    def init_app(self, app: Flask) -> None:
        """Give ``app`` its engine state."""
        with app.app_context():
            store_state = store_extension.state
        app.extensions[EXTENSION] = EngineState(app.config, store_state)


engine_extension = EngineExtension()


def current_engine() -> SearchEngine:
    """The current app's SearchEngine; RuntimeError before ``init_app``."""
    state: EngineState | None = current_app.extensions.get(EXTENSION)
    if state is None:
        raise RuntimeError("the search engine is used before engine_extension.init_app(app)")
    return state.engine
