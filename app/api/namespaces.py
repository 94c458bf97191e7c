"""The namespace in a URL path, checked once for every surface."""

from __future__ import annotations

from app.errors import InvalidInput
from app.model.event import NAMESPACE_PATTERN


def checked_namespace(namespace: str) -> str:
    """The namespace of the URL, or InvalidInput when it is not a valid name."""
    if not NAMESPACE_PATTERN.fullmatch(namespace):
        raise InvalidInput(
            "namespace must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a "
            "letter or digit",
            field="namespace",
        )
    return namespace
