"""The search engine and the follow feed of the current app, made once per app over its store.

``engine_extension.init_app(app)`` (after the store's) registers the state;
``current_engine()`` answers the SearchEngine of the current app,
``current_follow()`` its follow reader and cursor codec, and both raise a
RuntimeError that says so when used before ``init_app``. One token signer
(``AUDITLOG_SECRET``) seals scroll tokens and follow cursors.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from app.engine.follow import FollowReader
from app.engine.follow import late_write_bound_ns as bound_of
from app.engine.follow_cursor import FollowCursors
from app.engine.scroll_token import ScrollTokens
from app.engine.search import SearchEngine
from app.engine.signed_token import TokenSigner
from app.store.extension import StoreState
from app.store.extension import store as store_extension

EXTENSION = "auditlog.engine"


class EngineState:
    """The engine of one app: its token signer, the lazily made SearchEngine and
    FollowReader, and the follow cursor codec."""

    def __init__(self, config: Mapping[str, Any], store: StoreState) -> None:
        self.config = config
        self.store = store
        secret = config.get("AUDITLOG_SECRET")
        signer = TokenSigner(secret.encode() if secret else os.urandom(32))
        self.tokens = ScrollTokens(signer)
        self.cursors = FollowCursors(signer)
        settle, overlap = config["AUDITLOG_FOLLOW_SETTLE"], config["AUDITLOG_FOLLOW_OVERLAP"]
        self.late_write_bound_ns = {refreshed: bound_of(settle, overlap, refreshed)
                                    for refreshed in (False, True)}
        self._lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._follow: FollowReader | None = None

    @property
    def follow(self) -> FollowReader:
        """The follow feed's reader (its client is made on first use)."""
        if self._follow is None:
            with self._lock:
                if self._follow is None:
                    self._follow = FollowReader(self.store.events,
                                                self.config["AUDITLOG_FOLLOW_SETTLE"],
                                                self.config["AUDITLOG_FOLLOW_OVERLAP"])
        return self._follow

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


def _state() -> EngineState:
    state: EngineState | None = current_app.extensions.get(EXTENSION)
    if state is None:
        raise RuntimeError("the search engine is used before engine_extension.init_app(app)")
    return state


def current_engine() -> SearchEngine:
    """The current app's SearchEngine; RuntimeError before ``init_app``."""
    return _state().engine


def current_follow() -> tuple[FollowReader, FollowCursors]:
    """The current app's follow reader and cursor codec; RuntimeError before ``init_app``."""
    state = _state()
    return state.follow, state.cursors


def late_write_bound_ns(refreshed: bool) -> int:
    """The current app's bound on stamp-to-acknowledgement time of a write that followers
    see exactly once (``refreshed``: the write waited for a refresh)."""
    return _state().late_write_bound_ns[refreshed]
