"""The detector shell's deadline index: which loans a day close must evaluate."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.arrears_detector.shell_index import DeadlineIndex

D = date(2027, 2, 1)


def test_due_returns_loans_on_or_before_the_date_sorted() -> None:
    index = DeadlineIndex()
    index.set("b", D)
    index.set("a", D - timedelta(days=3))
    index.set("c", D + timedelta(days=1))
    assert index.due(D) == ["a", "b"]
    assert index.due(D - timedelta(days=4)) == []


def test_moving_and_removing_a_loan() -> None:
    index = DeadlineIndex()
    index.set("a", D)
    index.set("a", D + timedelta(days=5))
    assert index.due(D) == []
    index.set("a", None)
    assert index.due(date.max) == []
    assert len(index) == 0


deadlines = st.dictionaries(
    st.text("abcdef", min_size=1, max_size=3),
    st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2028, 1, 1))),
)


@given(first=deadlines, second=deadlines, probe=st.dates(date(2026, 1, 1), date(2028, 1, 1)))
def test_index_agrees_with_a_plain_scan(
    first: dict[str, date | None], second: dict[str, date | None], probe: date
) -> None:
    index = DeadlineIndex()
    current: dict[str, date | None] = {}
    for updates in (first, second):
        for loan, deadline in updates.items():
            index.set(loan, deadline)
            current[loan] = deadline
    expected = sorted(loan for loan, d in current.items() if d is not None and d <= probe)
    assert index.due(probe) == expected

    rebuilt = DeadlineIndex()
    rebuilt.rebuild(current.items())
    assert rebuilt.due(probe) == expected
