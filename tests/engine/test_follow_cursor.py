"""The follow cursor and its id sketch: no Elasticsearch."""

from __future__ import annotations

import random

import pytest

from app.engine.follow_cursor import CursorState, FollowCursors, Generation, InvalidCursor, binding
from app.engine.id_sketch import IdSketch, id_key
from app.engine.signed_token import TokenSigner

SIGNER = TokenSigner(b"s" * 32)
CONTEXT = binding("ns", "key-1", {"term": {"action": "login"}})


def _sketch(ids: list[str]) -> IdSketch:
    sketch = IdSketch()
    for event_id in ids:
        sketch.add(event_id)
    return sketch


@pytest.mark.parametrize("late", [0, 1, 2, 5, 8])
def test_the_difference_names_the_ids_added(late: int) -> None:
    rng = random.Random(late)
    ids = [f"e{rng.random()}" for _ in range(2_000)]
    added = set(rng.sample(ids, late))
    delivered = _sketch([i for i in ids if i not in added])
    decoded = _sketch(ids).minus(delivered).decode()
    assert decoded == ({id_key(i) for i in added}, set())


def test_a_difference_too_large_is_refused_not_guessed() -> None:
    ids = [f"e{n}" for n in range(500)]
    assert _sketch(ids).minus(_sketch(ids[:300])).decode() is None


def test_ids_that_went_away_are_told_apart() -> None:
    ids = [f"e{n}" for n in range(100)]
    assert _sketch(ids[1:]).minus(_sketch(ids)).decode() == (set(), {id_key("e0")})


def test_sketch_bytes_round_trip() -> None:
    sketch = _sketch(["a", "b", "c"])
    assert IdSketch.from_bytes(sketch.to_bytes()) == sketch
    assert IdSketch().to_bytes() == b""
    with pytest.raises(ValueError):
        IdSketch.from_bytes(b"short")


def test_cursor_round_trip() -> None:
    cursors = FollowCursors(SIGNER)
    for old, new in (([], []), (["a"], []), ([], ["b", "c"]), (["a"], ["b", "c"])):
        state = CursorState(10, 15, 20, "e-20", Generation(len(old), _sketch(old)),
                            Generation(len(new), _sketch(new)))
        assert cursors.decode(cursors.encode(state, CONTEXT), CONTEXT) == state


@pytest.mark.parametrize("context", [
    binding("other", "key-1", {"term": {"action": "login"}}),
    binding("ns", "key-2", {"term": {"action": "login"}}),
    binding("ns", "key-1", {"match_all": {}}),
])
def test_a_cursor_is_bound_to_namespace_key_and_query(context: bytes) -> None:
    cursors = FollowCursors(SIGNER)
    cursor = cursors.encode(CursorState.starting_at(None), CONTEXT)
    with pytest.raises(InvalidCursor):
        cursors.decode(cursor, context)


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-2] + ("A" if c[-2] != "A" else "B") + c[-1],
    lambda c: c[:10],
    lambda c: "not a cursor!",
    lambda c: "",
])
def test_a_tampered_cursor_is_refused(mangle) -> None:
    cursors = FollowCursors(SIGNER)
    cursor = cursors.encode(CursorState(1, 2, 2, "x", Generation(1, _sketch(["x"]))), CONTEXT)
    with pytest.raises(InvalidCursor):
        cursors.decode(mangle(cursor), CONTEXT)


def test_another_secret_is_refused_and_scroll_tokens_are_not_cursors() -> None:
    cursor = FollowCursors(SIGNER).encode(CursorState.starting_at(5), CONTEXT)
    with pytest.raises(InvalidCursor):
        FollowCursors(TokenSigner(b"t" * 32)).decode(cursor, CONTEXT)
    scroll = SIGNER.seal(b"scroll", b"{}", CONTEXT)
    with pytest.raises(InvalidCursor):
        FollowCursors(SIGNER).decode(scroll, CONTEXT)
