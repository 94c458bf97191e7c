"""The per-app objects every blueprint uses: the Elasticsearch client and the store.

The client is made lazily, so the service starts (and answers ``/healthz`` and
``/readyz``) while Elasticsearch is still down; templates are applied at the
first request that reaches Elasticsearch.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from elasticsearch import Elasticsearch
from flask import Flask, current_app

from app import local_es
from app.checkpoint_store import CheckpointStore
from app.engine.signing import SigningKey, load_signing_key
from app.es import make_client
from app.holds import HoldStore
from app.scroll_token import ScrollTokens
from app.search import SearchEngine
from app.store import EventStore

log = logging.getLogger(__name__)
EXTENSION = "auditlog"


class Services:
    """Holds the client and store of one app; thread-safe lazy initialisation."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._client: Elasticsearch | None = None
        self._store: EventStore | None = None
        self._engine: SearchEngine | None = None
        self._signing_key: SigningKey | None = None
        secret = config.get("AUDITLOG_SECRET")
        self.tokens = ScrollTokens(secret.encode() if secret else os.urandom(32))
        self._templates_applied = not config.get("AUDITLOG_APPLY_TEMPLATES", True)

    @property
    def client(self) -> Elasticsearch:
        """The Elasticsearch client (raises StoreUnavailable when none is configured)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self.config)
        return self._client

    @property
    def store(self) -> EventStore:
        """The event store, with the index templates applied once."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = EventStore(self.client, self.config["AUDITLOG_INDEX_PREFIX"])
        if not self._templates_applied:
            self._store.apply_templates()
            self._templates_applied = True
        return self._store

    @property
    def engine(self) -> SearchEngine:
        """The search engine over the store."""
        store = self.store
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = SearchEngine(store, self.tokens,
                                                self.config["AUDITLOG_SCROLL_KEEPALIVE"],
                                                self.config["AUDITLOG_EXPORT_READERS"])
        return self._engine

    @property
    def signing_key(self) -> SigningKey:
        """The key that signs checkpoints and export manifests (read or made once).

        Raises SigningKeyError when it cannot be read or created.
        """
        if self._signing_key is None:
            with self._lock:
                if self._signing_key is None:
                    self._signing_key = load_signing_key(self.config.get("AUDITLOG_SIGNING_KEY"),
                                                         local_es.default_data_dir())
        return self._signing_key

    @property
    def holds(self) -> HoldStore:
        """The legal holds (index templates applied first)."""
        return HoldStore(self.store.client, self.config["AUDITLOG_INDEX_PREFIX"])

    @property
    def checkpoints(self) -> CheckpointStore:
        """The integrity checkpoints (index templates applied first)."""
        return CheckpointStore(self.store.client, self.config["AUDITLOG_INDEX_PREFIX"])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def get_services() -> Services:
    """The Services of the current app."""
    services: Services = current_app.extensions[EXTENSION]
    return services


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Services(app.config)
