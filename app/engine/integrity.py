"""The integrity state of the current app: its signing key and its checkpointer.

``integrity_extension.init_app(app)`` (after the store's) registers the state
and, unless the app is under test or ``AUDITLOG_CHECKPOINT_INTERVAL`` is 0,
starts the checkpointer (``app.engine.checkpointer``) on a daemon thread once
the index templates are in place. ``current_integrity()`` answers the state of
the current app.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from app.engine.checkpointer import LEASE_NAME, Checkpointer, holder_id
from app.engine.sealer import Sealer
from app.engine.signing import SigningKey, load_signing_key
from app.engine.stream_reader import StreamReader
from app.model.timestamps import NS_PER_S
from app.store.checkpoints import CheckpointStore
from app.store.extension import StoreState
from app.store.extension import store as store_extension
from app.store.lease import Lease
from app.store.local_node import default_data_dir

EXTENSION = "auditlog.integrity"
_START_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)
log = logging.getLogger(__name__)


class IntegrityState:
    """The signing key (read or made on first use) and the running checkpointer, if any."""

    def __init__(self, config: Mapping[str, Any], store: StoreState) -> None:
        self.config = config
        self.store = store
        self._lock = threading.Lock()
        self._signing_key: SigningKey | None = None
        self.checkpointer: Checkpointer | None = None
        self._stopped = threading.Event()

    @property
    def signing_key(self) -> SigningKey:
        """The key that signs checkpoints and export manifests.

        Raises SigningKeyError when it cannot be read or created.
        """
        if self._signing_key is None:
            with self._lock:
                if self._signing_key is None:
                    self._signing_key = load_signing_key(self.config.get("AUDITLOG_SIGNING_KEY"),
                                                         default_data_dir())
        return self._signing_key

    @property
    def checkpoints(self) -> CheckpointStore:
        """The checkpoint store."""
        return self.store.checkpoints

    def make_checkpointer(self) -> Checkpointer:
        """A checkpointer over this app's store, key and settings (not started)."""
        config = self.config
        # Seal only what the follow feed treats as final: stamps older than its settle time
        # plus overlap (a slower write is past its late-write bound: counted and logged).
        settle_s = float(config["AUDITLOG_FOLLOW_SETTLE"]) \
            + float(config["AUDITLOG_FOLLOW_OVERLAP"])
        holder = holder_id()
        events = self.store.events
        sealer = Sealer(StreamReader(self.store.client, events.pattern), self.checkpoints,
                        self.signing_key, int(settle_s * NS_PER_S), sealer_id=holder)
        lease = Lease(self.store.client, f"{self.store.prefix}-leases", LEASE_NAME, holder,
                      float(config["AUDITLOG_CHECKPOINT_LEASE"]))
        return Checkpointer(sealer, lease, float(config["AUDITLOG_CHECKPOINT_INTERVAL"]))

    def start_when_ready(self) -> None:
        """Start the checkpointer on a daemon thread once the templates are applied and the
        key is readable (retried with growing pauses; each failure logged)."""

        def run() -> None:
            pauses = iter(_START_PAUSES)
            while not self._stopped.is_set():
                if self.store.templates_ready.wait(1.0):
                    try:
                        self.checkpointer = self.make_checkpointer()
                        self.checkpointer.start()
                        # A clean exit hands the lease over at once instead of letting it lapse.
                        atexit.register(self.checkpointer.stop, 5.0)
                        return
                    except Exception:  # the key unreadable, the store down: say so, retry
                        log.warning("the checkpointer could not start; retrying",
                                    exc_info=True)
                    self._stopped.wait(next(pauses, _START_PAUSES[-1]))

        threading.Thread(target=run, name="checkpointer-start", daemon=True).start()


class IntegrityExtension:
    """The extension object; ``init_app`` needs the store extension initialised first."""

    def init_app(self, app: Flask) -> None:
        """Give ``app`` its integrity state; start sealing unless testing or turned off."""
        with app.app_context():
            store_state = store_extension.state
        state = IntegrityState(app.config, store_state)
        app.extensions[EXTENSION] = state
        if app.config.get("AUDITLOG_CHECKPOINT_INTERVAL") and not app.testing:
            state.start_when_ready()


integrity_extension = IntegrityExtension()


def current_integrity() -> IntegrityState:
    """The current app's integrity state; RuntimeError before ``init_app``."""
    state: IntegrityState | None = current_app.extensions.get(EXTENSION)
    if state is None:
        raise RuntimeError("integrity is used before integrity_extension.init_app(app)")
    return state
