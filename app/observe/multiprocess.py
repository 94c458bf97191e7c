"""prometheus_client's multi-process mode for gunicorn (``auditlog serve``).

Each gunicorn worker counts in its own process; with ``PROMETHEUS_MULTIPROC_DIR``
set before ``prometheus_client`` is first imported, the workers write their
values to files in that folder and ``/metrics`` sums them. This module must
not import ``prometheus_client`` at the top: ``prepare`` runs before it.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"


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
        return _imported(folder)
    if workers <= 1:
        return None
    folder = tempfile.mkdtemp(prefix="auditlog-metrics-")
    os.environ[ENV] = folder
    master = os.getpid()

    def remove() -> None:
        if os.getpid() == master:  # forked workers run atexit too
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    return _imported(folder)


def _imported(folder: str) -> str:
    """Import prometheus_client's multi-process module now, in the master: imported first in
    ``child_exit`` (a SIGCHLD handler), a second worker's exit re-entered the half-done
    import and the master died with an ImportError instead of shutting down."""
    importlib.import_module("prometheus_client.multiprocess")
    return folder


def child_exit(_server: Any, worker: Any) -> None:
    """gunicorn hook: forget a dead worker's live gauges."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
