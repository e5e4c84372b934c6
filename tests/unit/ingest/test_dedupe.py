from __future__ import annotations

from services.ingest.dedupe import DedupeWindow


def test_remembered_keys_are_seen() -> None:
    window = DedupeWindow(10)
    assert not window.seen(["id:a"])
    window.remember(["id:a", "ref:x"])
    assert window.seen(["id:a"])
    assert window.seen(["id:other", "ref:x"])  # any key of an event is enough
    assert not window.seen(["id:b"])
    assert not window.seen([])


def test_the_oldest_keys_are_forgotten_first() -> None:
    window = DedupeWindow(3)
    window.remember(["a", "b", "c"])
    window.remember(["d"])
    assert len(window) == 3
    assert not window.seen(["a"])
    assert window.seen(["b"])
    assert window.seen(["c"])
    assert window.seen(["d"])


def test_remembering_again_makes_a_key_young() -> None:
    window = DedupeWindow(3)
    window.remember(["a", "b", "c"])
    window.remember(["a"])
    window.remember(["d"])
    assert window.seen(["a"])
    assert not window.seen(["b"])


def test_seeing_does_not_make_a_key_young() -> None:
    window = DedupeWindow(2)
    window.remember(["a", "b"])
    assert window.seen(["a"])
    window.remember(["c"])
    assert not window.seen(["a"])


def test_a_zero_window_remembers_nothing() -> None:
    window = DedupeWindow(0)
    window.remember(["a"])
    assert len(window) == 0
    assert not window.seen(["a"])


def test_remember_accepts_a_generator() -> None:
    window = DedupeWindow(5)
    window.remember(key for key in ("a", "b"))
    assert window.seen(["b"])
