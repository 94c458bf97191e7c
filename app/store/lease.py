"""A lease in Elasticsearch: work that one instance does at a time (the checkpointer).

One document per lease in ``<prefix>-leases``: its holder and when it
expires. Taking or renewing it is a compare-and-set on the document's
``_seq_no``/``_primary_term`` (``if_seq_no``/``if_primary_term``), so of two
instances that read the same state only one write succeeds. A holder renews
well before expiry; one that dies stops renewing and the lease lapses after
its time to live (at most 30 s, DESIGN §13). Expiry is judged by the clock of
the instance that wants the lease, so instances' clocks must agree to well
within that time (NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import elasticsearch
from elasticsearch import Elasticsearch

from app.store.client import store_errors


@dataclass
class Lease:
    """One named lease, seen from one would-be holder."""

    client: Elasticsearch
    index: str
    name: str
    holder: str
    ttl_s: float
    clock_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)
    held_until_ms: int = 0

    def acquire(self) -> bool:
        """Take the lease if it is free or lapsed, or renew it if held; True when held now."""
        now = self.clock_ms()
        document = {"holder": self.holder, "expires_at_ms": now + int(self.ttl_s * 1000),
                    "renewed_at_ms": now}
        try:
            with store_errors():
                current = self.client.options(ignore_status=404).get(index=self.index,
                                                                     id=self.name)
                if not current.get("found"):
                    self.client.create(index=self.index, id=self.name, document=document,
                                       refresh=False)
                else:
                    source = current["_source"]
                    if source.get("holder") != self.holder \
                            and int(source.get("expires_at_ms", 0)) > now:
                        self.held_until_ms = 0
                        return False
                    self.client.index(index=self.index, id=self.name, document=document,
                                      if_seq_no=current["_seq_no"],
                                      if_primary_term=current["_primary_term"], refresh=False)
        except elasticsearch.ConflictError:
            self.held_until_ms = 0  # another instance wrote first
            return False
        self.held_until_ms = document["expires_at_ms"]
        return True

    def held(self, margin_ms: int = 0) -> bool:
        """Whether this holder's lease is still good for ``margin_ms`` more."""
        return self.clock_ms() + margin_ms < self.held_until_ms

    def release(self) -> None:
        """Give the lease up now if held (a clean shutdown hands over at once)."""
        if not self.held_until_ms:
            return
        self.held_until_ms = 0
        with store_errors():
            current = self.client.options(ignore_status=404).get(index=self.index, id=self.name)
            if current.get("found") and current["_source"].get("holder") == self.holder:
                self.client.options(ignore_status=409).delete(
                    index=self.index, id=self.name, if_seq_no=current["_seq_no"],
                    if_primary_term=current["_primary_term"])
