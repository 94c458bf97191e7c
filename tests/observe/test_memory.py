"""Freed memory goes back to the system: ``trim()`` now, ``trim_every()`` from a thread.

Each case runs in a fresh interpreter: several threads allocate a few hundred MB of
medium-sized objects (which glibc serves from per-thread arenas), keep one in fifty
(long-lived objects scattered among the freed ones, as a worker's are) and free the
rest. glibc keeps those freed pages; the process's RSS shows whether they went back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from app.observe import memory

pytestmark = pytest.mark.skipif(not memory.available(), reason="the C library has no malloc_trim")

CHURN = textwrap.dedent("""
    import json, random, sys, threading, time
    from app.observe import memory

    def rss_mb():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 / 1e6

    kept = []

    def churn(seed):
        rng = random.Random(seed)
        objects = [bytes(rng.randrange(600, 4000)) for _ in range(60_000)]
        kept.extend(objects[::50])

    def freed_in_threads():
        threads = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
""")


def _run(program: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHURN + textwrap.dedent(program)],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_trim_gives_freed_memory_back() -> None:
    figures = _run("""
        freed_in_threads()
        before = rss_mb()
        trimmed = memory.trim()
        print(json.dumps({"before": before, "after": rss_mb(), "trimmed": trimmed}))
    """)
    assert figures["trimmed"] == 1
    assert figures["before"] > 200  # the churn left that much resident, untrimmed
    assert figures["after"] < figures["before"] / 2


def test_trim_every_trims_from_its_thread_until_stopped() -> None:
    figures = _run("""
        freed_in_threads()
        high = rss_mb()
        stop = threading.Event()
        thread = memory.trim_every(0.2, stop)
        deadline = time.monotonic() + 60
        while rss_mb() > high / 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        low = rss_mb()
        stop.set()
        thread.join(10)
        print(json.dumps({"high": high, "low": low, "alive": thread.is_alive(),
                          "name": thread.name, "daemon": thread.daemon}))
    """)
    assert figures["low"] < figures["high"] / 2
    assert not figures["alive"]
    assert figures["daemon"] and figures["name"] == "auditlog-malloc-trim"


def test_trim_every_zero_starts_nothing() -> None:
    assert memory.trim_every(0) is None
