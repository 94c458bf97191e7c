"""Canonical JSON, interval hashes, checkpoint signatures and chain checks (no Elasticsearch)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from app.engine.checkpoint import Checkpoint, StreamPosition, chain_problems
from app.engine.interval_hash import (
    GENESIS,
    IntervalHash,
    canonical_json,
    differences,
    leaf_line,
    unpack_leaves,
)
from app.engine.signing import (
    KEY_FILE,
    PublicKey,
    SigningKeyError,
    load_public_key,
    load_signing_key,
)


def _event(n: int, **extra: object) -> dict[str, object]:
    return {"id": f"e{n}", "namespace": "ns", "time": "2026-01-01T00:00:00Z",
            "ingested_at": f"2026-01-01T00:00:{n:02d}.000000001Z", "action": "login", **extra}


def _seal(events: list[dict[str, object]], seq: int, prev_hash: str, key) -> Checkpoint:
    interval = IntervalHash(prev_hash)
    for event in events:
        interval.add(event)
    first, last = events[0], events[-1]
    return Checkpoint(seq, "ns", interval.count,
                      StreamPosition(str(first["ingested_at"]), str(first["id"])),
                      StreamPosition(str(last["ingested_at"]), str(last["id"])),
                      interval.hexdigest(), prev_hash, "2026-01-01T00:01:00Z",
                      leaves=interval.packed()).signed(key)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory):
    return load_signing_key(None, tmp_path_factory.mktemp("keys"))


def test_canonical_json_sorts_keys_at_every_level() -> None:
    a = {"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "é"}}
    b = {"a": {"x": "é", "y": [1, {"c": 3, "d": 2}]}, "b": 1}
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == '{"a":{"x":"é","y":[1,{"c":3,"d":2}]},"b":1}'.encode()


@pytest.mark.parametrize(("edit", "kinds"), [
    (lambda ev: ev[1].update(action="logout"), [("changed", "e1")]),
    (lambda ev: ev.pop(1), [("deleted", "e1")]),
    (lambda ev: ev.insert(2, _event(9)), [("inserted", "e9")]),
    (lambda ev: ev.append(dict(ev[0])), [("inserted", "e0")]),
    (lambda ev: (ev[0].update(outcome="failure"), ev.pop(2)),
     [("changed", "e0"), ("deleted", "e2")]),
])
def test_differences_name_each_event(edit, kinds) -> None:
    events = [_event(n) for n in range(4)]
    sealed = [leaf_line(e) for e in events]
    edit(events)
    found = differences(sealed, [leaf_line(e) for e in events])
    assert sorted((d.kind, d.event_id) for d in found) == sorted(kinds)


def test_no_differences_when_unchanged() -> None:
    events = [_event(n) for n in range(3)]
    lines = [leaf_line(e) for e in events]
    assert differences(lines, list(lines)) == []


def test_hash_covers_content_order_and_previous_hash(key) -> None:
    events = [_event(n) for n in range(3)]
    base = _seal(events, 1, GENESIS, key)
    assert _seal(events, 1, GENESIS, key).hash == base.hash
    assert _seal([*events[:2], _event(2, action="x")], 1, GENESIS, key).hash != base.hash
    assert _seal(events[::-1], 1, GENESIS, key).hash != base.hash
    assert _seal(events, 1, "1" * 64, key).hash != base.hash
    assert unpack_leaves(base.leaves) == [leaf_line(e) for e in events]


def test_signature_covers_every_public_field(key) -> None:
    checkpoint = _seal([_event(0), _event(1)], 1, GENESIS, key)
    assert checkpoint.signature_valid(key.public)
    doc = checkpoint.document()
    for field, value in [("count", 3), ("hash", "f" * 64), ("seq", 2), ("prev_hash", "1" * 64),
                         ("sealed_at", "2027-01-01T00:00:00Z"), ("namespace", "other"),
                         ("last", {"ingested_at": "2030-01-01T00:00:00Z", "id": "e1"})]:
        edited = Checkpoint.from_document({**doc, field: value})
        assert not edited.signature_valid(key.public), field
    assert Checkpoint.from_document(doc) == checkpoint
    assert set(checkpoint.public_dict()) == {"seq", "namespace", "count", "first", "last",
                                             "hash", "prev_hash", "sealed_at", "signature"}


def test_chain_problems(key, tmp_path: Path) -> None:
    one = _seal([_event(0)], 1, GENESIS, key)
    two = _seal([_event(1)], 2, one.hash, key)
    three = _seal([_event(2)], 3, two.hash, key)
    assert chain_problems([one, two, three], key.public) == []
    assert [p.seq for p in chain_problems([one, three], key.public)] == [3]
    assert "missing" in chain_problems([one, three], key.public)[0].message
    forged = _seal([_event(1)], 2, "2" * 64, key)
    assert "prev_hash" in chain_problems([one, forged], key.public)[0].message
    other = load_signing_key(None, tmp_path)
    problems = chain_problems([one], other.public)
    assert [p.seq for p in problems] == [1] and "signature" in problems[0].message
    assert chain_problems([three], key.public, previous=two) == []


def test_key_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    first = load_signing_key(None, folder)
    again = load_signing_key(None, folder)
    assert first.public.raw_base64 == again.public.raw_base64
    mode = stat.S_IMODE(os.stat(folder / KEY_FILE).st_mode)
    assert mode == 0o600
    assert [p.name for p in folder.iterdir()] == [KEY_FILE]  # no temporary file left
    assert load_public_key(None, folder).raw_base64 == first.public.raw_base64


def test_data_folder_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_signing_key(None, tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(SigningKeyError, match="mode 0600"):
        load_signing_key(None, tmp_path)


def test_configured_key_and_public_only_file(tmp_path: Path) -> None:
    made = load_signing_key(None, tmp_path / "a")
    configured = load_signing_key(str(tmp_path / "a" / KEY_FILE), tmp_path / "unused")
    assert configured.public.raw_base64 == made.public.raw_base64
    assert not (tmp_path / "unused").exists()
    public_file = tmp_path / "public.pem"
    public_file.write_text(made.public.pem)
    assert load_public_key(str(public_file), tmp_path).raw_base64 == made.public.raw_base64
    assert PublicKey.from_text(made.public.raw_base64).pem == made.public.pem
    document = made.public.as_dict()
    assert document["algorithm"] == "ed25519"
    assert len(base64.b64decode(document["public_key"])) == 32


@pytest.mark.parametrize("content", ["not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                     "-----END PRIVATE KEY-----\n"])
def test_unreadable_key_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.pem"
    path.write_text(content)
    with pytest.raises(SigningKeyError, match=r"bad\.pem"):
        load_signing_key(str(path), tmp_path)
    with pytest.raises(SigningKeyError, match=r"missing\.pem"):
        load_signing_key(str(tmp_path / "missing.pem"), tmp_path)
