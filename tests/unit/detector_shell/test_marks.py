"""Partition marks in the ledgers table, read from the old marks table until first written."""

from __future__ import annotations

from typing import Any

from services.arrears_detector.app import PartitionMarks
from services.arrears_detector.shell_partition import offset_key, watermark_key


def test_the_ledgers_table_wins_and_the_old_table_fills_in_until_then() -> None:
    table: dict[str, Any] = {"L-1": {"p": 0}, offset_key(0): 41}
    legacy = {"0@offset": 17, "0": "2027-03-01", "1@offset": 9, "1": "2027-02-26"}
    marks = PartitionMarks(table, legacy)
    assert marks.get(offset_key(0)) == 41  # written since the upgrade
    assert marks.get(watermark_key(0)) == "2027-03-01"  # not yet: the old table's
    assert (marks.get(offset_key(1)), marks.get(watermark_key(1))) == (9, "2027-02-26")
    assert marks.get(offset_key(2)) is None
    marks[offset_key(1)] = 12
    assert table[offset_key(1)] == 12
    assert legacy["1@offset"] == 9  # the old table is never written
    assert sorted(marks) == sorted([offset_key(0), offset_key(1)])
    assert len(marks) == 2
