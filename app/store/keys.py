"""API keys (DESIGN §8): one document per key in ``<prefix>-keys``, the secret only as a hash.

A secret reads ``al_<id>_<random>``: the id (16 hex digits) names the key's
document and is not secret; the random part (256 bits) is. Resolving a
presented secret is a get by id and a constant-time comparison of SHA-256
hashes (a hash of 256 random bits needs no salt or slow KDF). Records are
cached in process for ``AUDITLOG_KEY_CACHE_TTL`` seconds, so a search costs no
extra round trip; a revocation through this process replaces the cached
record at once, one through another instance takes effect within the TTL.
Expiry is checked at every request, never cached.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from cachetools import TTLCache
from elasticsearch import Elasticsearch

from app.errors import InvalidInput
from app.model.event import NAMESPACE_PATTERN, SYSTEM_NAMESPACE
from app.model.principal import ROLES, Principal
from app.model.timestamps import format_ns, parse_timestamp
from app.store.client import store_errors

_SECRET = re.compile(r"al_([0-9a-f]{16})_[A-Za-z0-9_-]{43}")
_MISSING = object()  # cached "no such key"
MAX_NAME_CHARS = 128


def hash_secret(secret: str) -> str:
    """The stored form of a secret: hex SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    """A fresh (key id, secret) pair."""
    key_id = secrets.token_hex(8)
    return key_id, f"al_{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(secret: str) -> str | None:
    """The key id a secret names, or None when it is not shaped like one of ours."""
    match = _SECRET.fullmatch(secret)
    return match.group(1) if match else None


@dataclass(frozen=True)
class ApiKey:
    """A stored key: what it may do, and its hashed secret."""

    id: str
    name: str
    role: str
    namespaces: tuple[str, ...]
    created_at: str
    actor_id: str | None = None
    expires_at: str | None = None
    expires_ns: int | None = None
    revoked: bool = False
    revoked_at: str | None = None
    secret_hash: str = field(default="", repr=False)

    def public(self) -> dict[str, Any]:
        """The key as the API shows it: never the secret nor its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "namespaces": list(self.namespaces),
            "actor_id": self.actor_id,
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "revoked": self.revoked,
            "revoked_at": self.revoked_at,
        }

    def usable(self, now_ns: int) -> bool:
        """Neither revoked nor expired at ``now_ns``."""
        return not self.revoked and (self.expires_ns is None or now_ns < self.expires_ns)

    def principal(self) -> Principal:
        """The caller this key makes; admins use every namespace."""
        namespaces = None if self.role == "admin" else frozenset(self.namespaces)
        return Principal(self.id, self.role, namespaces, actor_id=self.actor_id, name=self.name)

    def document(self) -> dict[str, Any]:
        """The stored document."""
        doc = {k: v for k, v in self.public().items() if v is not None}
        doc["secret_hash"] = self.secret_hash
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> ApiKey:
        """A key from its stored document."""
        expires_at = doc.get("expires_at")
        return cls(
            id=doc["id"],
            name=doc.get("name", ""),
            role=doc["role"],
            namespaces=tuple(doc.get("namespaces") or ()),
            created_at=doc["created_at"],
            actor_id=doc.get("actor_id"),
            expires_at=expires_at,
            expires_ns=parse_timestamp(expires_at)[0] if expires_at else None,
            revoked=bool(doc.get("revoked", False)),
            revoked_at=doc.get("revoked_at"),
            secret_hash=doc.get("secret_hash", ""),
        )


@dataclass(frozen=True)
class NewKey:
    """A key just created, with the secret shown this once."""

    key: ApiKey
    secret: str

    def as_dict(self) -> dict[str, Any]:
        """The creation answer: ``{id, secret, name, namespaces, role, ...}``."""
        public = self.key.public()
        return {"id": public.pop("id"), "secret": self.secret, **public}


def _now_text(now_ns: int) -> str:
    return format_ns(now_ns // 1000 * 1000, 6)


def check_new_key(name: str, role: str, namespaces: Iterable[str]) -> tuple[str, ...]:
    """The namespaces of a new key, validated with its name and role; raise InvalidInput."""
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"name: 1 to {MAX_NAME_CHARS} characters", field="name")
    if role not in ROLES:
        raise InvalidInput(f"role: must be one of {', '.join(ROLES)}", field="role")
    unique = tuple(dict.fromkeys(namespaces))
    for namespace in unique:
        if not NAMESPACE_PATTERN.fullmatch(namespace):
            raise InvalidInput(f"namespaces: {namespace!r} is not a valid namespace name",
                               field="namespaces")
        if namespace == SYSTEM_NAMESPACE:
            raise InvalidInput(f"namespaces: {SYSTEM_NAMESPACE!r} is reserved for the service's "
                               "own audit trail (admin keys read it)", field="namespaces")
    if role != "admin" and not unique:
        raise InvalidInput("namespaces: a reader or writer key needs at least one namespace",
                           field="namespaces")
    return unique


class KeyStore:
    """Creates, lists, revokes and resolves keys in ``<prefix>-keys``."""

    def __init__(self, client: Elasticsearch, prefix: str, cache_ttl: float = 5.0) -> None:
        self.client = client
        self.index = f"{prefix}-keys"
        self._lock = threading.Lock()
        self._cache: TTLCache[str, Any] | None = (
            TTLCache(maxsize=10_000, ttl=cache_ttl) if cache_ttl > 0 else None)

    def create(self, name: str, role: str, namespaces: Iterable[str] = (),
               actor_id: str | None = None, expires_at: tuple[int, str] | None = None,
               ) -> NewKey:
        """Store a new key; raise InvalidInput for a bad name, role or namespace."""
        checked = check_new_key(name, role, namespaces)
        key_id, secret = new_secret()
        key = ApiKey(
            id=key_id, name=name, role=role, namespaces=checked,
            created_at=_now_text(time.time_ns()), actor_id=actor_id or None,
            expires_at=expires_at[1] if expires_at else None,
            expires_ns=expires_at[0] if expires_at else None,
            secret_hash=hash_secret(secret),
        )
        # refresh: the keys index is tiny and rarely written; list the key at once.
        with store_errors():
            self.client.create(index=self.index, id=key_id, document=key.document(),
                               refresh=True)
        self._remember(key)
        return NewKey(key, secret)

    def get(self, key_id: str) -> ApiKey | None:
        """The stored key (read from Elasticsearch, not the cache), or None."""
        with store_errors():
            response = self.client.options(ignore_status=404).get(index=self.index, id=key_id)
        if not response.get("found"):
            return None
        return ApiKey.from_document(response["_source"])

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with store_errors():
            response = self.client.search(
                index=self.index, ignore_unavailable=True, allow_no_indices=True,
                size=10_000, sort=[{"created_at": "asc"}, {"id": "asc"}],
                query={"match_all": {}},
            )
        return [ApiKey.from_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke a key (idempotent); None when there is no such key."""
        key = self.get(key_id)
        if key is None:
            return None
        if not key.revoked:
            key = replace(key, revoked=True, revoked_at=_now_text(time.time_ns()))
            with store_errors():
                self.client.update(index=self.index, id=key_id, refresh=True,
                                   doc={"revoked": True, "revoked_at": key.revoked_at})
        self._remember(key)
        return key

    def resolve(self, secret: str) -> Principal | None:
        """The Principal of a presented secret; None when unknown, revoked or expired."""
        key_id = key_id_of(secret)
        if key_id is None:
            return None
        key = self._cached(key_id)
        if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
            return None
        if not key.usable(time.time_ns()):
            return None
        return key.principal()

    def resolve_id(self, key_id: str) -> Principal | None:
        """The Principal of the key ``key_id`` (named by an access token, whose signature
        stands for the secret); None when unknown, revoked or expired."""
        key = self._cached(key_id)
        if key is None or not key.usable(time.time_ns()):
            return None
        return key.principal()

    def _cached(self, key_id: str) -> ApiKey | None:
        if self._cache is None:
            return self.get(key_id)
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is None:
            # Outside the lock: a slow Elasticsearch must not stall other keys' requests.
            fetched = self.get(key_id) or _MISSING
            with self._lock:
                # A revocation remembered meanwhile is newer than what was fetched.
                hit = self._cache.setdefault(key_id, fetched)
        return None if hit is _MISSING else hit

    def _remember(self, key: ApiKey) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache[key.id] = key

    def forget(self) -> None:
        """Drop every cached record (tests; a revocation elsewhere is seen at once)."""
        if self._cache is not None:
            with self._lock:
                self._cache.clear()
