"""The reliability figures of one run, and the table docs/reliability.md and ``make chaos`` print.

Pure: counting and formatting only; the runs that produce the counts live in ``chaos``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

COLUMNS = (
    "test",
    "injected",
    "load",
    "events sent",
    "processed",
    "lost",
    "duplicated",
    "actions decided",
    "delivered",
    "duplicated",
    "result",
)


@dataclass(frozen=True)
class Delivery:
    """Actions: decided by the intervention, as Sofie received them (by idempotency key)."""

    decided: int
    delivered: int
    lost: int
    duplicated: int
    """Actions Sofie performed more than once (a resend Sofie deduplicated is not one)."""
    resent: int
    """Actions whose request reached Sofie more than once (deduplicated there)."""


def _tally(wanted_ids: Iterable[str], seen_ids: Iterable[str]) -> tuple[int, int, int, int]:
    """Wanted, seen of those, lost, duplicated (a repeat, or an id nobody wanted)."""
    wanted = set(wanted_ids)
    times = Counter(seen_ids)
    seen = set(times)
    repeats = sum(n - 1 for n in times.values() if n > 1)
    return len(wanted), len(wanted & seen), len(wanted - seen), repeats + len(seen - wanted)


def delivery(planned: Iterable[str], performed: Iterable[str], resent: int = 0) -> Delivery:
    """Compare the planned action ids with the keys of the actions Sofie performed."""
    decided, delivered, lost, duplicated = _tally(planned, performed)
    return Delivery(decided, delivered, lost, duplicated, resent)


@dataclass(frozen=True)
class Events:
    """Input events: sent, and how the consumer saw them (by event id)."""

    sent: int
    processed: int
    lost: int
    duplicated: int


def events(sent: Iterable[str], processed: Iterable[str]) -> Events:
    """Compare the ids sent with the ids processed (a processed id seen twice is a duplicate)."""
    return Events(*_tally(sent, processed))


@dataclass(frozen=True)
class Row:
    test: str
    injected: str
    load: str
    events: Events | None = None
    actions: Delivery | None = None
    result: str = ""

    def cells(self) -> list[str]:
        e, a = self.events, self.actions
        event_cells = (
            ["-"] * 4
            if e is None
            else [f"{e.sent:,}", f"{e.processed:,}", f"{e.lost:,}", f"{e.duplicated:,}"]
        )
        action_cells = (
            ["-"] * 3 if a is None else [f"{a.decided:,}", f"{a.delivered:,}", f"{a.duplicated:,}"]
        )
        return [self.test, self.injected, self.load, *event_cells, *action_cells, self.result]


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table with the columns of docs/reliability.md."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def verdict(events_: Events | None, actions: Delivery | None) -> str:
    """ "ok" when nothing was lost or performed twice, else what went wrong."""
    problems = []
    if events_ is not None and (events_.lost or events_.duplicated):
        problems.append(f"events lost {events_.lost}, duplicated {events_.duplicated}")
    if actions is not None and (actions.lost or actions.duplicated):
        problems.append(f"actions lost {actions.lost}, duplicated {actions.duplicated}")
    return "; ".join(problems) or "ok"


def differing(reference: Mapping[str, object], other: Mapping[str, object]) -> list[str]:
    """The keys whose values differ between two final states (or that only one has), sorted:
    which loans' ledgers or which clients' outcomes a disturbed run got wrong."""
    keys = reference.keys() | other.keys()
    return sorted(
        k for k in keys if k not in reference or k not in other or reference[k] != other[k]
    )
