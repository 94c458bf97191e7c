"""``kill -9`` of the service (gunicorn master and workers) during ingest.

A client that sends again every batch it has no acknowledgement for (same ids)
ends with every acknowledged event stored exactly once: ingest is
``op_type=create`` by id, so a batch written before the kill and sent again is
answered as duplicates, not stored twice.
"""

from __future__ import annotations

import os
import signal
import time

import psutil

from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import free_port, start_service
from tests.faults.harness import RetryingIngester, make_events, report, stored_ids

NS = "killsvc"
BATCHES, BATCH = 40, 250


def _kill_all(pid: int) -> int:
    """SIGKILL the master and its workers at once; return how many processes died."""
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for process in processes:
        os.kill(process.pid, signal.SIGKILL)
    psutil.wait_procs(processes, timeout=30)
    return len(processes)


def test_kill_9_of_the_service_loses_and_doubles_nothing(es, es_url, index_prefix) -> None:
    port = free_port()
    served = start_service(es_url, index_prefix, ADMIN_KEY, workers=2, port=port)
    events = make_events(NS, BATCHES * BATCH)
    batches = [events[n:n + BATCH] for n in range(0, len(events), BATCH)]
    client = RetryingIngester(lambda: served.url, NS, {"Authorization": f"Bearer {ADMIN_KEY}"},
                              batches, pause=0.05).start()
    try:
        while client.done_batches < BATCHES // 3:
            time.sleep(0.05)
        killed = _kill_all(served.process.pid)
        acked_at_kill = len(client.acknowledged)
        served.stop()  # reaps the killed master
        served.stderr.unlink(missing_ok=True)
        time.sleep(1.0)  # the client meets a dead port meanwhile
        served = start_service(es_url, index_prefix, ADMIN_KEY, workers=2, port=port)
        client.join()
    finally:
        served.stop()
        served.stderr.unlink(missing_ok=True)
    stored = stored_ids(es, index_prefix, NS)
    result = report("service kill -9 during ingest", client.acknowledged, stored,
                    f"{killed} processes killed after {acked_at_kill} acknowledged; "
                    f"{client.broken} broken requests retried")
    assert client.broken > 0  # the kill did cut requests
    assert result.acknowledged == BATCHES * BATCH
    assert (result.gaps, result.duplicates) == (0, 0)
    assert result.stored == result.acknowledged
