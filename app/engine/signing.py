"""The service's Ed25519 signing key: checkpoints and export manifests are signed with it.

Where the key comes from, in this order:

1. ``AUDITLOG_SIGNING_KEY``: a PEM file holding an Ed25519 private key (PKCS#8,
   unencrypted), e.g. made with ``openssl genpkey -algorithm ed25519``. Give every
   instance the same file.
2. Otherwise ``signing-key.pem`` in the data folder, generated on first start:
   written to a temporary file readable by its owner only (0600, in a folder
   made 0700) and linked into place, so instances starting at once on one
   machine end with the same key and nobody ever reads a half-written one. A
   key file there that another user owns, or that others may read, is refused.

The public half is published at ``GET /api/v1/integrity/public-key`` as raw
32 bytes in base64 and as PEM; signatures travel as base64 of the 64 raw bytes.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALGORITHM = "ed25519"
KEY_FILE = "signing-key.pem"


class SigningKeyError(RuntimeError):
    """The signing key could not be read or created; the message says which file and why."""


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key that checks signatures."""

    key: Ed25519PublicKey

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        """From base64 of the raw 32 bytes or from PEM; raise ValueError when it is neither."""
        text = text.strip()
        if text.startswith("-----BEGIN"):
            loaded = serialization.load_pem_public_key(text.encode())
            if not isinstance(loaded, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            return cls(loaded)
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError as exc:
            raise ValueError("a public key is base64 of 32 bytes or PEM") from exc
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @property
    def raw_base64(self) -> str:
        """The raw 32 bytes, base64."""
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    @property
    def pem(self) -> str:
        """SubjectPublicKeyInfo PEM."""
        return self.key.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def verify(self, payload: bytes, signature: str) -> bool:
        """Whether ``signature`` (base64) is this key's signature of ``payload``."""
        try:
            raw = base64.b64decode(signature, validate=True)
            self.key.verify(raw, payload)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True

    def as_dict(self) -> dict[str, Any]:
        """The public-key document: algorithm, raw key (base64) and PEM."""
        return {"algorithm": ALGORITHM, "public_key": self.raw_base64, "pem": self.pem}


@dataclass(frozen=True)
class SigningKey:
    """The private key; signs payloads, and knows its public half."""

    key: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        """The public half."""
        return PublicKey(self.key.public_key())

    def sign(self, payload: bytes) -> str:
        """The signature of ``payload``, base64 of the 64 raw bytes."""
        return base64.b64encode(self.key.sign(payload)).decode()


def _read(path: Path) -> SigningKey:
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} does not hold an Ed25519 private key")
    return SigningKey(loaded)


def _create(path: Path) -> None:
    """Write a new key to ``path`` unless a file is there already (another instance won)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".signing-key-", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(pem)
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)  # atomic, and never replaces a key already there
    finally:
        os.unlink(temporary)


def load_signing_key(configured: str | None, data_dir: Path) -> SigningKey:
    """The key of ``AUDITLOG_SIGNING_KEY`` when given, else the data folder's (made once).

    Raises SigningKeyError when the file cannot be read, created, or holds another
    kind of key.
    """
    if configured:
        return _read(Path(configured))
    path = data_dir / KEY_FILE
    if not path.exists():
        try:
            _create(path)
        except OSError as exc:
            raise SigningKeyError(f"cannot create the signing key {path}: {exc}") from exc
    _check_private(path)
    return _read(path)


def _check_private(path: Path) -> None:
    """Refuse a data-folder key that another user owns or may read or write."""
    info = path.stat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise SigningKeyError(f"the signing key {path} must belong to this user with mode "
                              f"0600 (it has owner {info.st_uid}, mode "
                              f"{info.st_mode & 0o777:04o}); fix it or set "
                              "AUDITLOG_SIGNING_KEY")


def load_public_key(configured: str | None, data_dir: Path) -> PublicKey:
    """The public key to check signatures with: of the configured or data-folder key.

    ``configured`` may also name a file holding only a public key (PEM), which is
    how a verifier that must not hold the private key is set up. Raises
    SigningKeyError when there is no readable key.
    """
    path = Path(configured) if configured else data_dir / KEY_FILE
    try:
        text = path.read_text()
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc}") from exc
    if "PUBLIC KEY" in text:
        try:
            return PublicKey.from_text(text)
        except ValueError as exc:
            raise SigningKeyError(f"{path}: {exc}") from exc
    return _read(path).public
