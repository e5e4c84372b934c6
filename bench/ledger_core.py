"""Throughput and size of the detector's pure core (not a test; run it by hand).

One partition's worth of work: ~10k loans, ~1M payment events in log order plus a
``business_day_closed`` tick per TARGET2 day. Events are built just before they are
applied (like a consumer that has just decoded them) and are not kept, so the figures
include the cache misses of reaching 10k ledgers in log order but not those of a huge
pre-built event list. Ticks reach only the loans a next-deadline index names.

Prints apply calls/s for the core alone (timer overhead subtracted; the goal's unit: one call
per loan event and one per loan a tick evaluates), the log's events per second of that same
core time, log events/s for the whole loop (core + index), and the bytes a ledger holds and
its JSON snapshot size (what the Faust changelog stores). Bytes are the deep size of the
final ledgers (``retained_bytes``), without a second, traced, run of the whole stream.
``--memory-loans 100000`` also builds that many ledgers (untimed, ``--memory-months``
months: 18 fill the id window and the collection memory, after which a ledger stops growing)
and reports their size: the goal is stated at 100k loans.

    .venv/bin/python bench/ledger_core.py [--loans 10000] [--months 50] [--trouble 0.08]
        [--memory-loans 100000] [--memory-months 18]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import itertools
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from services.arrears_detector.calendar import (
    add_months,
    business_days,
    grace_deadline,
    next_business_day,
)
from services.arrears_detector.events import (
    BusinessDayClosed,
    DirectDebitCollected,
    DirectDebitRefunded,
    DirectDebitReturned,
    DomainEvent,
    InstalmentDue,
    PaymentReceived,
)
from services.arrears_detector.ledger import LoanLedger, apply, next_deadline
from services.arrears_detector.policy import DEFAULT_POLICY
from services.arrears_detector.snapshot import to_snapshot

START = date(2022, 1, 1)
Row = tuple[date, int, int, DomainEvent]


def _settle(d: date) -> date:
    return grace_deadline(d, 0)  # the first business day on or after d


class Loan:
    """One loan's fixed terms and random stream; ``month(n)`` yields that month's events."""

    def __init__(self, i: int, trouble: float) -> None:
        self.rnd = random.Random(20261127 * 100_003 + i)
        self.loan, self.client = f"L{i:07d}", f"C{i:07d}"
        self.amount = Decimal(self.rnd.randrange(40_000, 250_000)) / 100
        self.balance = self.amount * 240
        self.dom = self.rnd.randrange(1, 29)
        self.trouble = trouble

    def month(self, n: int) -> list[tuple[date, int, DomainEvent]]:
        loan, client, amount, rnd = self.loan, self.client, self.amount, self.rnd
        due = _settle(add_months(START.replace(day=self.dom), n))  # debit days are business days
        inst = f"{loan}-I{n:03d}"
        self.balance -= amount / 3
        out: list[tuple[date, int, DomainEvent]] = [
            (
                due - timedelta(days=14),
                0,
                InstalmentDue(
                    event_id=f"{inst}-due",
                    loan_id=loan,
                    client_id=client,
                    instalment_id=inst,
                    due_date=due,
                    amount=amount,
                    currency="EUR",
                    outstanding_balance=self.balance.quantize(Decimal("0.01")),
                ),
            )
        ]
        e2e = f"{inst}-dd"

        def collected() -> None:
            out.append(
                (
                    due,
                    1,
                    DirectDebitCollected(
                        event_id=f"{e2e}-col",
                        loan_id=loan,
                        client_id=client,
                        end_to_end_id=e2e,
                        mandate_id="M",
                        bank_reference=f"{e2e}-b",
                        booking_date=due,
                        amount=amount,
                        currency="EUR",
                    ),
                )
            )

        def paid(day: date) -> None:
            out.append(
                (
                    day,
                    1,
                    PaymentReceived(
                        event_id=f"{inst}-pay",
                        loan_id=loan,
                        client_id=client,
                        bank_reference=f"{inst}-p",
                        booking_date=day,
                        amount=amount,
                        currency="EUR",
                    ),
                )
            )

        fate = rnd.random() / self.trouble * 0.08 if self.trouble else 1.0
        if fate < 0.03:  # AM04 return two business days later, then a manual payment
            collected()
            back = next_business_day(next_business_day(due))
            out.append(
                (
                    back,
                    1,
                    DirectDebitReturned(
                        event_id=f"{e2e}-ret",
                        loan_id=loan,
                        client_id=client,
                        end_to_end_id=e2e,
                        mandate_id="M",
                        bank_reference=f"{e2e}-r",
                        booking_date=back,
                        amount=amount,
                        currency="EUR",
                        reason_code="AM04",
                        reason_category="retryable",
                    ),
                )
            )
            paid(_settle(back + timedelta(days=rnd.randrange(3, 20))))
        elif fate < 0.04:  # MD06 refund six weeks later, paid again a week after
            collected()
            back = _settle(due + timedelta(days=42))
            out.append(
                (
                    back,
                    1,
                    DirectDebitRefunded(
                        event_id=f"{e2e}-ref",
                        loan_id=loan,
                        client_id=client,
                        end_to_end_id=e2e,
                        mandate_id="M",
                        bank_reference=f"{e2e}-f",
                        booking_date=back,
                        amount=amount,
                        currency="EUR",
                        reason_code="MD06",
                        reason_category="retryable",
                    ),
                )
            )
            paid(_settle(back + timedelta(days=7)))
        elif fate < 0.08:  # a late transfer, sometimes after the grace deadline
            paid(_settle(due + timedelta(days=rnd.randrange(1, 25))))
        else:
            collected()
        return out


def stream(loans: int, months: int, trouble: float) -> Iterator[DomainEvent]:
    """The partition's log, in booking order, built month by month as it is consumed."""
    book = [Loan(i, trouble) for i in range(loans)]
    heap: list[Row] = []
    seq = itertools.count()
    ticked = START - timedelta(days=30)
    for n in range(months + 3):
        if n < months:
            for loan in book:
                for day, order, event in loan.month(n):
                    heapq.heappush(heap, (day, order, next(seq), event))
        # Nothing generated later is dated before the next month's first due event.
        safe = add_months(START, n + 1) - timedelta(days=15)
        for day in business_days(ticked + timedelta(days=1), safe):
            tick = BusinessDayClosed(event_id=f"tick-{day}", business_date=day)
            heapq.heappush(heap, (day, 2, next(seq), tick))
        ticked = max(ticked, safe)
        while heap and heap[0][0] <= safe:
            yield heapq.heappop(heap)[3]


class Result:
    def __init__(self) -> None:
        self.ledgers: dict[str, LoanLedger] = {}
        self.events = self.ticks = self.evaluations = self.signals = 0
        self.core = self.loop = self.loop_cpu = 0.0


def run(events: Iterator[DomainEvent], chunk: int = 4096) -> Result:
    """Apply ``events`` as one partition would; time the core and the loop separately."""
    r = Result()
    ledgers = r.ledgers
    heap: list[tuple[date, str]] = []
    indexed: dict[str, date | None] = {}
    policy = DEFAULT_POLICY
    clock = time.perf_counter
    while batch := list(itertools.islice(events, chunk)):  # built outside the timings
        r.events += len(batch)
        start, cpu = clock(), time.process_time()
        for event in batch:
            if isinstance(event, BusinessDayClosed):
                r.ticks += 1
                today = event.business_date
                while heap and heap[0][0] <= today:
                    due, loan_id = heapq.heappop(heap)
                    if indexed.get(loan_id) != due:
                        continue  # stale heap entry
                    t = clock()
                    ledger, out = apply(ledgers[loan_id], event, policy)
                    r.core += clock() - t
                    ledgers[loan_id] = ledger
                    r.evaluations += 1
                    r.signals += len(out)
                    _index(heap, indexed, loan_id, next_deadline(ledger, policy), today)
                continue
            t = clock()
            ledger, out = apply(ledgers.get(event.loan_id), event, policy)
            r.core += clock() - t
            ledgers[event.loan_id] = ledger
            r.signals += len(out)
            _index(heap, indexed, event.loan_id, next_deadline(ledger, policy), None)
        r.loop += clock() - start
        r.loop_cpu += time.process_time() - cpu
    return r


def _index(
    heap: list[tuple[date, str]],
    indexed: dict[str, date | None],
    loan_id: str,
    due: date | None,
    today: date | None,
) -> None:
    if today is not None and due is not None and due <= today:
        due = today + timedelta(days=1)  # evaluated today already: next tick at the earliest
    if indexed.get(loan_id) != due:
        indexed[loan_id] = due
        if due is not None:
            heapq.heappush(heap, (due, loan_id))


def _timer_overhead(n: int = 200_000) -> float:
    clock = time.perf_counter
    acc = 0.0
    for _ in range(n):
        t = clock()
        acc += clock() - t
    return acc / n


def retained_bytes(ledgers: dict[str, LoanLedger]) -> int:
    """Bytes ``ledgers`` (the dict and everything it reaches) hold: ``sys.getsizeof`` of
    every object once, so what ledgers share (canonical dates, amounts, ids) counts once.

    Exact and deterministic, unlike tracing a run's allocations, which misses the objects
    CPython takes from its free lists (tuples, above all) and so flatters the figure.
    """
    seen: set[int] = set()
    total = 0
    stack: list[object] = [ledgers]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj)
            stack.extend(obj.values())
        elif isinstance(obj, tuple | list):
            stack.extend(obj)
        elif isinstance(obj, LoanLedger):
            stack.extend(getattr(obj, name) for name in LoanLedger.__slots__)
    return total


def ledgers_only(loans: int, months: int, trouble: float) -> dict[str, LoanLedger]:
    """The final ledgers of a stream, built as ``run`` does but without timing anything."""
    ledgers: dict[str, LoanLedger] = {}
    heap: list[tuple[date, str]] = []
    indexed: dict[str, date | None] = {}
    policy = DEFAULT_POLICY
    for event in stream(loans, months, trouble):
        if isinstance(event, BusinessDayClosed):
            today = event.business_date
            while heap and heap[0][0] <= today:
                due, loan_id = heapq.heappop(heap)
                if indexed.get(loan_id) == due:
                    ledger = ledgers[loan_id] = apply(ledgers[loan_id], event, policy)[0]
                    _index(heap, indexed, loan_id, next_deadline(ledger, policy), today)
            continue
        ledger = ledgers[event.loan_id] = apply(ledgers.get(event.loan_id), event, policy)[0]
        _index(heap, indexed, event.loan_id, next_deadline(ledger, policy), None)
    return ledgers


def measure(
    loans: int,
    months: int,
    trouble: float,
    memory_loans: int | None = None,
    memory_months: int = 18,
) -> dict[str, float]:
    """Core apply calls/s (wall and CPU), partition-loop events/s, bytes per ledger; with
    ``memory_loans``, also the bytes per ledger at that many loans (``memory_months``)."""
    gc.collect()
    gc.disable()  # measure the core, not the cyclic collector (ledgers hold no cycles)
    r = run(stream(loans, months, trouble))
    gc.enable()
    loan_events = r.events - r.ticks
    calls = loan_events + r.evaluations
    core = r.core - calls * _timer_overhead()
    # On a shared machine wall time includes time spent descheduled; CPU time does not.
    core_cpu = core * r.loop_cpu / r.loop
    figures = {
        "events": float(r.events),
        "signals": float(r.signals),
        "core_calls_per_s": calls / core,
        "core_calls_per_cpu_s": calls / core_cpu,
        # The same core time per event of the log: a tick is one log event but as many calls
        # as the loans it evaluates, a loan event one call.
        "core_log_events_per_cpu_s": r.events / core_cpu,
        "loop_events_per_s": r.events / r.loop,
    }
    snapshot = sum(
        len(json.dumps(to_snapshot(x), separators=(",", ":"))) for x in r.ledgers.values()
    )
    figures["bytes_per_loan"] = retained_bytes(r.ledgers) / loans
    figures["snapshot_bytes_per_loan"] = snapshot / loans
    del r
    if memory_loans:
        gc.disable()
        ledgers = ledgers_only(memory_loans, memory_months, trouble)
        gc.enable()
        figures["memory_loans"] = float(memory_loans)
        figures["bytes_per_loan_at_memory_loans"] = retained_bytes(ledgers) / memory_loans
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=50)
    parser.add_argument(
        "--trouble",
        type=float,
        default=0.08,
        help="share of instalments with a return, refund or late transfer",
    )
    parser.add_argument("--memory-loans", type=int, default=None, help="e.g. 100000")
    parser.add_argument("--memory-months", type=int, default=18)
    args = parser.parse_args()
    f = measure(args.loans, args.months, args.trouble, args.memory_loans, args.memory_months)
    print(f"{args.loans:,} loans, {args.months} months: {f['events']:,.0f} log events")
    print(
        f"pure core: {f['core_calls_per_s']:,.0f} apply calls/s wall, "
        f"{f['core_calls_per_cpu_s']:,.0f} per CPU second (one core); "
        f"{f['core_log_events_per_cpu_s']:,.0f} log events per CPU second of the core"
    )
    print(f"partition loop (core + next-deadline index): {f['loop_events_per_s']:,.0f} events/s")
    print(
        f"ledger size: {f['bytes_per_loan']:,.0f} bytes per loan in memory, "
        f"{f['snapshot_bytes_per_loan']:,.0f} bytes per JSON snapshot"
    )
    if args.memory_loans:
        print(
            f"ledger size at {args.memory_loans:,} loans ({args.memory_months} months): "
            f"{f['bytes_per_loan_at_memory_loans']:,.0f} bytes per loan in memory"
        )


if __name__ == "__main__":
    main()
