"""``python -m app.cli``: the ``auditlog`` command."""

from app.cli.commands import main

main()
