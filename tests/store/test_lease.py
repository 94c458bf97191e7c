"""The sealing lease on a real node: one holder at a time, a lapsed lease taken over,
compare-and-set against a concurrent writer."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from app.store.lease import Lease


class Clock:
    """A clock the test moves (milliseconds)."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def _lease(es: Elasticsearch, index: str, holder: str, clock: Clock) -> Lease:
    return Lease(es, index, "checkpointer", holder, ttl_s=10, clock_ms=clock)


def test_one_holder_until_the_lease_lapses(es: Elasticsearch, index_prefix: str) -> None:
    clock = Clock()
    index = f"{index_prefix}-leases"
    first, second = _lease(es, index, "a", clock), _lease(es, index, "b", clock)
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    clock.now += 9_000
    assert first.acquire()  # renewed: good for another 10 s
    clock.now += 9_000
    assert not second.acquire()
    assert not first.held(2_000)  # less than 2 s left without a renewal
    clock.now += 1_001  # the holder stopped renewing: lapsed
    assert second.acquire() and second.held()
    assert not first.acquire() and not first.held()
    second.release()
    assert first.acquire()


def test_a_stale_read_loses_the_compare_and_set(es: Elasticsearch, index_prefix: str,
                                                monkeypatch) -> None:
    clock = Clock()
    index = f"{index_prefix}-leases-cas"
    first, second = _lease(es, index, "a", clock), _lease(es, index, "b", clock)
    assert first.acquire()
    clock.now += 11_000  # lapsed: both may try to take it
    stale = es.get(index=index, id="checkpointer")
    assert second.acquire()
    # ``first`` read the document before ``second`` wrote it: its write must fail.
    monkeypatch.setattr(first, "client", _Stale(es, stale))
    assert not first.acquire()


class _Stale:
    """A client whose get answers an older read (the race, made deterministic)."""

    def __init__(self, es: Elasticsearch, answer) -> None:
        self.es, self.answer = es, answer

    def options(self, **kwargs):
        return self

    def get(self, **kwargs):
        return self.answer

    def index(self, **kwargs):
        return self.es.index(**kwargs)

    def create(self, **kwargs):
        return self.es.create(**kwargs)
