"""The counting behind the reliability table: lost and duplicated are what the table claims."""

from __future__ import annotations

from tests.reliability.figures import (
    Delivery,
    Events,
    Row,
    delivery,
    differing,
    events,
    markdown_table,
    verdict,
)


def test_delivery_counts_lost_repeated_and_unplanned_actions() -> None:
    found = delivery(["a", "b", "c"], ["a", "a", "b", "x"], resent=1)
    assert found == Delivery(decided=3, delivered=2, lost=1, duplicated=2, resent=1)


def test_events_count_each_id_once_and_repeats_as_duplicates() -> None:
    assert events(["1", "2", "2"], ["2", "2", "3"]) == Events(
        sent=2, processed=1, lost=1, duplicated=2
    )
    assert events([], []) == Events(0, 0, 0, 0)


def test_verdict_is_ok_only_without_loss_or_duplicates() -> None:
    clean = events(["1"], ["1"])
    assert verdict(clean, delivery(["a"], ["a"])) == "ok"
    assert verdict(None, None) == "ok"
    assert verdict(events(["1"], []), None) == "events lost 1, duplicated 0"
    assert verdict(clean, delivery(["a"], ["a", "a"])) == "actions lost 0, duplicated 1"


def test_the_table_has_one_line_per_row_and_a_dash_for_what_was_not_measured() -> None:
    rows = [
        Row("t1", "kill | restart", "10 events", events=events(["1"], ["1"]), result="ok"),
        Row("t2", "none", "-", actions=delivery(["a"], ["a"]), result="ok"),
    ]
    lines = markdown_table(rows).splitlines()
    assert len(lines) == 4
    assert lines[0].count("|") == lines[2].count("|") == lines[3].count("|") == 12
    assert lines[2] == "| t1 | kill / restart | 10 events | 1 | 1 | 0 | 0 | - | - | - | ok |"
    assert lines[3] == "| t2 | none | - | - | - | - | - | 1 | 1 | 0 | ok |"


def test_differing_names_changed_missing_and_extra_keys_only() -> None:
    reference = {"a": 1, "b": {"x": 2}, "c": None}
    assert differing(reference, {"a": 1, "b": {"x": 2}, "c": None}) == []
    assert differing(reference, {"a": 1, "b": {"x": 3}, "d": 4}) == ["b", "c", "d"]
