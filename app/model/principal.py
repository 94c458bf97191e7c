"""Who is calling: a resolved API key (its id, role, namespaces and actor)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("reader", "writer", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id, its role, its namespaces (None: all) and actor."""

    key_id: str
    role: str
    namespaces: frozenset[str] | None
    actor_id: str | None = None
    name: str | None = None

    def has_role(self, role: str) -> bool:
        """Whether this key's role includes ``role`` (admin > writer > reader)."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def can_use(self, namespace: str) -> bool:
        """Whether this key may read or write ``namespace``."""
        return self.namespaces is None or namespace in self.namespaces
