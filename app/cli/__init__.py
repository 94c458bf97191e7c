"""The ``auditlog`` command: the service, the local node, keys, data and operations."""

from __future__ import annotations

from app.cli.commands import main

__all__ = ["main"]
