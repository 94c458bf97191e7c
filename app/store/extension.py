"""The Flask extension of the store, in the style of Flask-SQLAlchemy.

``store = Store()`` is made once at import; ``store.init_app(app)`` gives an app
its own state (the Elasticsearch client, the event store, the key store, the
legal holds and the integrity checkpoints) in ``app.extensions["auditlog.store"]``;
``store.client``, ``store.events``, ``store.keys``, ``store.holds`` and
``store.checkpoints`` then answer for the current app, and raise a RuntimeError that
says so when used outside an app or before ``init_app``.

The client is made lazily, so the service starts (and answers ``/healthz`` and
``/readyz``) while Elasticsearch is still down. Index templates are applied at
start-up (``init_app``); when Elasticsearch is not reachable then, a background
thread keeps trying, and writes are refused with 503 until they are in place,
so no index is ever created without its mapping. Nothing here writes on a read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from elasticsearch import Elasticsearch
from flask import Flask, current_app

from app.errors import AuditlogError, StoreUnavailable
from app.store.checkpoints import CheckpointStore
from app.store.client import make_client
from app.store.events import EventStore
from app.store.holds import HoldStore
from app.store.keys import KeyStore
from app.store.templates import apply_templates

log = logging.getLogger(__name__)
EXTENSION = "auditlog.store"
_RETRY_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)


class StoreState:
    """The store objects of one app; thread-safe lazy initialisation."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.prefix = str(config["AUDITLOG_INDEX_PREFIX"])
        self._lock = threading.RLock()
        self._client: Elasticsearch | None = None
        self._events: EventStore | None = None
        self._keys: KeyStore | None = None
        self.templates_ready = threading.Event()
        self._closed = threading.Event()

    @property
    def client(self) -> Elasticsearch:
        """The Elasticsearch client (raises StoreUnavailable when none is configured)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self.config)
        return self._client

    @property
    def events(self) -> EventStore:
        """The event store."""
        if self._events is None:
            with self._lock:
                if self._events is None:
                    self._events = EventStore(self.client, self.prefix,
                                              writable=self.require_templates)
        return self._events

    @property
    def keys(self) -> KeyStore:
        """The key store."""
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = KeyStore(self.client, self.prefix,
                                          float(self.config["AUDITLOG_KEY_CACHE_TTL"]))
        return self._keys

    @property
    def holds(self) -> HoldStore:
        """The legal holds."""
        return HoldStore(self.client, self.prefix, writable=self.require_templates)

    @property
    def checkpoints(self) -> CheckpointStore:
        """The integrity checkpoints."""
        return CheckpointStore(self.client, self.prefix, writable=self.require_templates)

    def require_templates(self) -> None:
        """Raise StoreUnavailable until the index templates are applied."""
        if not self.templates_ready.is_set():
            raise StoreUnavailable("the index templates are not applied yet "
                                   "(Elasticsearch was unreachable at start-up)")

    def apply_templates(self) -> bool:
        """Apply the index templates once; False (logged) when Elasticsearch is unreachable."""
        try:
            apply_templates(self.client, self.prefix)
        except AuditlogError as exc:
            log.warning("index templates not applied yet: %s", exc.message)
            return False
        self.templates_ready.set()
        return True

    def apply_templates_in_background(self) -> None:
        """Apply the templates now, or keep trying on a daemon thread until it works."""
        if self.apply_templates():
            return

        def retry() -> None:
            for pause in _pauses():
                if self._closed.wait(pause) or self.apply_templates():
                    return

        threading.Thread(target=retry, name="auditlog-templates", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        if self._client is not None:
            self._client.close()


def _pauses() -> Any:
    yield from _RETRY_PAUSES
    while True:
        yield _RETRY_PAUSES[-1]


class Store:
    """The extension object; ``init_app`` may be called for several apps."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Give ``app`` its store state; apply the index templates unless configured off."""
        state = StoreState(app.config)
        app.extensions[EXTENSION] = state
        if app.config.get("AUDITLOG_APPLY_TEMPLATES", True):
            state.apply_templates_in_background()
        else:
            state.templates_ready.set()

    @property
    def state(self) -> StoreState:
        """The current app's state; RuntimeError outside an app or before ``init_app``."""
        try:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        except RuntimeError as exc:
            raise RuntimeError("the auditlog store is used outside an application "
                               "context") from exc
        state = app.extensions.get(EXTENSION)
        if state is None:
            raise RuntimeError("the auditlog store is used before Store.init_app(app)")
        return state

    @property
    def client(self) -> Elasticsearch:
        """The current app's Elasticsearch client."""
        return self.state.client

    @property
    def events(self) -> EventStore:
        """The current app's event store."""
        return self.state.events

    @property
    def keys(self) -> KeyStore:
        """The current app's key store."""
        return self.state.keys

    @property
    def holds(self) -> HoldStore:
        """The current app's legal holds."""
        return self.state.holds

    @property
    def checkpoints(self) -> CheckpointStore:
        """The current app's integrity checkpoints."""
        return self.state.checkpoints


store = Store()
