"""Each process's pool of helper threads, for overlapping Elasticsearch requests with work.

An ingest sends the bulk request of one part of a batch while it validates the
next part. Tasks only wait on Elasticsearch, never on each other, so a small pool
cannot deadlock; a task queued behind others just starts later.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

THREADS = 8
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_lock = threading.Lock()


def submit(task: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Run ``task`` on the process's pool (made anew after a fork, e.g. in each gunicorn
    worker); its exception is raised by ``Future.result``."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="auditlog-es")
            _pool_pid = os.getpid()
        pool = _pool
    return pool.submit(task, *args, **kwargs)
