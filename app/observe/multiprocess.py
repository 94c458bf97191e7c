"""prometheus_client's multi-process mode for gunicorn (``auditlog serve``).

Each gunicorn worker counts in its own process; with ``PROMETHEUS_MULTIPROC_DIR``
set before ``prometheus_client`` is first imported, the workers write their
values to files in that folder and ``/metrics`` sums them. This module must
not import ``prometheus_client`` at the top: ``prepare`` runs before it.

``prepare`` also loads ``prometheus_client.multiprocess`` for the gunicorn
master's ``child_exit`` hook. The hook runs from the master's SIGCHLD handler,
also while the master shuts down: an import there could meet a half-finalised
interpreter (an ``ImportError`` traceback on SIGTERM), so nothing is imported
in the hook itself.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client.multiprocess.mark_process_dead, once ``prepare`` has set the folder.
_mark_process_dead: Callable[[int], None] | None = None


def prepare(workers: int) -> str | None:
    """Make the metrics folder ready before the workers start; return it (None: one worker).

    A folder given in the environment is emptied of old ``*.db`` files (as
    prometheus_client requires between runs); for more than one worker
    without one, a fresh temporary folder is made (and removed when the server exits).
    """
    folder = os.environ.get(ENV)
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
        _load_hook()
        return folder
    if workers <= 1:
        return None
    folder = tempfile.mkdtemp(prefix="auditlog-metrics-")
    os.environ[ENV] = folder
    master = os.getpid()

    def remove() -> None:
        if os.getpid() == master:  # forked workers run atexit too
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    _load_hook()
    return folder


def _load_hook() -> None:
    """Import what ``child_exit`` needs now, with the folder set, not in a signal handler."""
    global _mark_process_dead
    _mark_process_dead = importlib.import_module("prometheus_client.multiprocess"
                                                 ).mark_process_dead


def child_exit(_server: Any, worker: Any) -> None:
    """gunicorn hook: forget a dead worker's live gauges (imports nothing: see the module)."""
    if _mark_process_dead is not None:
        _mark_process_dead(worker.pid)
