"""Structured logs: every record is one JSON object on stderr (python-json-logger).

The level comes from ``AUDITLOG_LOG_LEVEL``. ``configure`` is idempotent: the
handler is installed once per process, later calls only change the level.

Every request writes a line, so a record costs only what the line holds:
lines are encoded with orjson, and the logging module is told not to look up
the caller's file and line, thread or multiprocessing name, which no line
carries (the logging HOWTO's "Optimization" switches).
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.orjson import OrjsonFormatter

_MARK = "_auditlog_json_handler"


def configure(level: str | int) -> None:
    """Send the root logger's records to stderr as JSON lines at ``level``."""
    root = logging.getLogger()
    if not any(getattr(h, _MARK, False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OrjsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        ))
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    logging._srcfile = None  # no caller look-up per record
    # gunicorn's own log lines print the process id, so that one stays.
    logging.logThreads = logging.logMultiprocessing = False
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # The client logs every Elasticsearch request at INFO; /metrics times them instead.
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    logging.getLogger("elastic_transport.transport").setLevel(quiet)
