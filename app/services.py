"""The per-app objects every blueprint uses: the Elasticsearch client and the store.

The client is made lazily, so the service starts (and answers ``/healthz`` and
``/readyz``) while Elasticsearch is still down; templates are applied at the
first request that reaches Elasticsearch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from elasticsearch import Elasticsearch
from flask import Flask, current_app

from app import local_es
from app.checkpoint_store import CheckpointStore
from app.engine.checkpointer import LEASE_NAME, Checkpointer, holder_id
from app.engine.sealer import Sealer
from app.engine.signing import SigningKey, load_signing_key
from app.engine.stream_reader import StreamReader
from app.es import make_client
from app.holds import HoldStore
from app.lease import Lease
from app.scroll_token import ScrollTokens
from app.search import SearchEngine
from app.store import EventStore
from app.timestamps import NS_PER_S

log = logging.getLogger(__name__)
EXTENSION = "auditlog"
DEFAULT_SETTLE_S = 5.0  # when the follow feed's AUDITLOG_FOLLOW_SETTLE is not set


class Services:
    """Holds the client and store of one app; thread-safe lazy initialisation."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._client: Elasticsearch | None = None
        self._store: EventStore | None = None
        self._engine: SearchEngine | None = None
        self._signing_key: SigningKey | None = None
        self.checkpointer: Checkpointer | None = None
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


def start_checkpointer(services: Services) -> Checkpointer:
    """Start sealing in the background (DESIGN §13); the lease keeps it to one instance."""
    config = services.config
    prefix = config["AUDITLOG_INDEX_PREFIX"]
    # Seal only what the follow feed treats as final: older than its settle time and overlap.
    settle_s = float(config.get("AUDITLOG_FOLLOW_SETTLE") or DEFAULT_SETTLE_S) \
        + float(config.get("AUDITLOG_FOLLOW_OVERLAP") or 0)
    holder = holder_id()
    store = services.store
    sealer = Sealer(StreamReader(store.client, store.pattern), services.checkpoints,
                    services.signing_key, int(settle_s * NS_PER_S), sealer_id=holder)
    lease = Lease(store.client, f"{prefix}-leases", LEASE_NAME, holder,
                  float(config["AUDITLOG_CHECKPOINT_LEASE"]))
    checkpointer = Checkpointer(sealer, lease, float(config["AUDITLOG_CHECKPOINT_INTERVAL"]))
    checkpointer.start()
    return checkpointer


def init_app(app: Flask) -> None:
    services = Services(app.config)
    app.extensions[EXTENSION] = services
    if app.config.get("AUDITLOG_CHECKPOINT_INTERVAL") and not app.testing:
        # Started on the first tick of its own thread: the store may still be down now.
        threading.Thread(target=_start_when_ready, args=(services,), daemon=True,
                         name="checkpointer-start").start()


def _start_when_ready(services: Services) -> None:
    delay = 1.0
    while True:
        try:
            services.checkpointer = start_checkpointer(services)
            return
        except Exception:  # the store is down or the key unreadable: say so, try again
            log.warning("the checkpointer could not start; retrying", exc_info=True)
            time.sleep(delay)
            delay = min(30.0, delay * 2)
