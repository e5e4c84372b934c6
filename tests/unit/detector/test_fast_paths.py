"""The detector's fast paths change nothing but speed.

``decode`` builds core events straight from canonical records and leaves everything else to
the validating path; snapshots, signals, signal ids and buckets are built without the generic
helpers they used to go through. Each is held equal here to a reference: a verbatim copy of
the code as it was before the fast paths (so "the same" means the same as before), or the
generic constructor it replaces. Errors must be the same too, message and cause included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from datetime import date
from decimal import Decimal
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.common import synthetic_events
from schemas.codec import encode
from schemas.ids import deterministic_id
from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.arrears_detector import events as domain
from services.arrears_detector import shell_translate
from services.arrears_detector.calendar import iso
from services.arrears_detector.emit import emit
from services.arrears_detector.events import DomainEvent
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.shell_translate import UndecodableEventError, decode
from services.arrears_detector.signals import Signal, signal_id
from services.arrears_detector.snapshot import to_snapshot
from services.arrears_detector.state import LoanLedger
from tests.unit.detector.driver import Partition
from tests.unit.detector.strategies import partition_log
from tests.unit.ingest.strategies import json_values, mutated_events, raw_bodies, valid_events

PROPERTY: Final = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- decode as it was (reference implementation, verbatim) --------------------------------

_REF_FIELDS_BY_CLASS: Final = {
    cls: tuple(f.name for f in dataclasses.fields(cls) if f.name != "event_id")
    for cls in (*shell_translate._DOMAIN_TYPES.values(), domain.InstalmentComponents)
}


def _ref_money(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise TypeError("money must be a JSON string")
    return Decimal(value)


def _ref_convert(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {n: data[n] for n in _REF_FIELDS_BY_CLASS[cls] if n in data}
    for name in cls._dates:
        fields[name] = date.fromisoformat(fields[name])
    for name in (*cls._positive, *cls._non_negative):
        fields[name] = _ref_money(fields[name])
    return fields


def reference_decode(raw: bytes) -> tuple[DomainEvent, str]:
    try:
        message = json.loads(raw)
        cls = shell_translate._DOMAIN_TYPES[message["type"]]
        fields = _ref_convert(cls, message["data"])
        components = fields.get("components")
        if components is not None:
            fields["components"] = domain.InstalmentComponents(
                **_ref_convert(domain.InstalmentComponents, components)
            )
        event: DomainEvent = cls(event_id=message["id"], **fields)
        event_time = message["time"]
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        raise UndecodableEventError(type(exc).__name__) from exc
    if not isinstance(event_time, str):
        raise UndecodableEventError("time must be a string")
    return event, event_time


def _outcome(decoder: Any, raw: bytes) -> tuple[object, ...]:
    """What a decoder makes of ``raw``: the event exactly (repr shows every field, and a
    Decimal's exponent), or the error with its message and cause."""
    try:
        event, event_time = decoder(raw)
    except UndecodableEventError as exc:
        return ("error", str(exc), type(exc.__cause__).__name__)
    return ("ok", type(event), repr(event), event_time)


def _same_as_before(raw: bytes) -> None:
    assert _outcome(decode, raw) == _outcome(reference_decode, raw)


def _canonical(value: dict[str, Any]) -> bytes:
    """A record as ingest publishes it: validated against the contract, encoded canonically."""
    return encode(PAYMENT_EVENT_ADAPTER.validate_python(value))


def _fast(raw: bytes) -> tuple[DomainEvent, str] | None:
    """The fast path alone: its result, or None when it leaves ``raw`` to the other path."""
    try:
        return shell_translate._decode_fast(raw)
    except Exception:
        return None


FAST_TYPES: Final = (
    "instalment_due",
    "direct_debit_collected",
    "direct_debit_rejected",
    "direct_debit_returned",
    "direct_debit_refunded",
    "payment_received",
    "business_day_closed",
)


@PROPERTY
@given(valid_events())
def test_canonical_records_take_the_fast_path_with_the_same_event(value: dict[str, Any]) -> None:
    raw = _canonical(value)
    fast = _fast(raw)
    if value["type"] in FAST_TYPES:
        assert fast is not None
        assert _outcome(lambda _: fast, raw) == _outcome(reference_decode, raw)
    _same_as_before(raw)


@PROPERTY
@given(mutated_events())
def test_mutated_records_are_decoded_or_refused_exactly_as_before(value: Any) -> None:
    _same_as_before(json.dumps(value).encode())
    with contextlib.suppress(ValueError):  # still valid: then also in canonical form
        _same_as_before(_canonical(value))


NEAR_MISSES: Final[list[Any]] = [
    None, True, 1, 1.5, "", " ", "x" * 129, "x" * 128, "EUR", "eur", "TARGET2", "target2",
    "1250.0", "1250", "1250.00", "0.00", "0.01", "-0.00", "-1.00", " 1.00", "1.00 ", "+1.00",
    "1_000.00", "1e3", "NaN", "Infinity", "00.10", "\u0661\u0660.\u0660\u0660", "9999999999999.99",
    "99999999999999.99", "1" * 40 + ".00", "2027-02-01", "20270201", "2027-W05-1",
    "2027-02-30", "2027-02-01T00:00:00", "AM04", "AM0", "AM045", "retryable", "unknown",
    "mandate_broken", "other", [], {}, {"principal": "1.00"},
    {"principal": "1.00", "interest": "0.00", "fees": "0.5"},
    {"principal": "1.00", "interest": "0.00", "fees": "0.50", "extra": 1},
]  # fmt: skip
"""Values at the edges between the fast and the validating path (and beyond both)."""


def _fast_type_records() -> list[dict[str, Any]]:
    return [json.loads(_canonical(v)) for v in _examples() if v["type"] in FAST_TYPES]


def test_every_near_miss_in_every_field_is_judged_exactly_as_before() -> None:
    """Exhaustive: each canonical example of a fast type with one field of its data or its
    envelope replaced by each near miss, or dropped."""
    for record in _fast_type_records():
        for target_path in ("data", None):
            target = record["data"] if target_path else record
            for key in list(target):
                for value in [*NEAR_MISSES, "drop"]:
                    tampered = json.loads(json.dumps(record))
                    place = tampered["data"] if target_path else tampered
                    if value == "drop":
                        place.pop(key)
                    else:
                        place[key] = value
                    _same_as_before(json.dumps(tampered, separators=(",", ":")).encode())


@st.composite
def tampered(draw: st.DrawFn) -> bytes:
    """A canonical record of a fast type with one to three fields of ``data`` (or the
    envelope) replaced by near misses or any JSON, or dropped."""
    value = json.loads(_canonical(draw(valid_events())))
    for _ in range(draw(st.integers(1, 3))):
        target = value.get("data") if draw(st.integers(0, 3)) else value
        if not isinstance(target, dict) or not target:
            break
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.integers(0, 4)) == 0:
            target.pop(key)
        else:
            target[key] = draw(st.sampled_from(NEAR_MISSES) | json_values)
    return json.dumps(value, separators=(",", ":")).encode()


@PROPERTY
@given(tampered())
def test_near_misses_are_judged_exactly_as_before(raw: bytes) -> None:
    _same_as_before(raw)


@PROPERTY
@given(raw_bodies)
@example(b"")
@example(b'\xef\xbb\xbf{"type":"business_day_closed"}')
def test_bytes_that_are_not_records_are_refused_as_before(raw: bytes) -> None:
    _same_as_before(raw)


@pytest.mark.parametrize("event_type", FAST_TYPES)
def test_encodings_json_loads_reads_but_the_fast_path_does_not(event_type: str) -> None:
    """BOM, UTF-16/32: ``json.loads`` reads them, the fast path leaves them to it, and the
    result is the same event. Surrounding whitespace the fast path reads itself, alike."""
    raw = _canonical(
        json.loads(json.dumps(next(v for v in _examples() if v["type"] == event_type)))
    )
    text = raw.decode()
    for other in (
        b"\xef\xbb\xbf" + raw,
        text.encode("utf-16"),
        text.encode("utf-16-le"),
        text.encode("utf-32"),
    ):
        assert _fast(other) is None
        assert _outcome(decode, other) == _outcome(reference_decode, other)
        assert _outcome(decode, other)[0] == "ok"
    assert _fast(raw) is not None
    for spaced in (b" " + raw, raw + b"\n", b"\t" + raw + b" \r\n"):
        assert _fast(spaced) == _fast(raw)
        assert _outcome(decode, spaced) == _outcome(reference_decode, spaced)


def _examples() -> list[dict[str, Any]]:
    from tests.unit.schemas.examples import PAYMENT_EVENTS

    return list(PAYMENT_EVENTS.values())


def test_the_records_the_benchmarks_publish_take_the_fast_path() -> None:
    """``publish_canonical`` writes json.dumps of the raw event (no envelope defaults)."""
    for value in synthetic_events(3, months=2):
        raw = json.dumps(value, separators=(",", ":")).encode()
        assert _fast(raw) is not None
        _same_as_before(raw)


def test_a_str_or_bytearray_record_takes_the_validating_path() -> None:
    raw = _canonical(_examples()[1])
    for other in (raw.decode(), bytearray(raw)):
        assert _outcome(decode, other) == _outcome(reference_decode, other)  # type: ignore[arg-type]


# --- signals, snapshots, buckets, dates ---------------------------------------------------


@PROPERTY
@given(
    st.lists(st.text(min_size=1, max_size=12) | st.just("a\x1fb"), min_size=1, max_size=4),
    st.sampled_from(["late_payment", "arrears_onset", "relapse"]),
)
def test_signal_ids_are_deterministic_id_and_refuse_the_separator_alike(
    parts: list[str], signal_type: Any
) -> None:
    loan, *cause = parts

    def outcome(make: Any) -> tuple[str, str]:
        try:
            return "ok", make()
        except ValueError as exc:
            return "error", str(exc)

    assert outcome(lambda: signal_id(loan, signal_type, *cause)) == outcome(
        lambda: deterministic_id("arrears.signals.v1", loan, signal_type, *cause)
    )


@PROPERTY
@given(partition_log())
def test_emitted_signals_equal_ones_built_by_the_dataclass(log: list[DomainEvent]) -> None:
    for signal in Partition().feed_all(log):
        fields = {f.name: getattr(signal, f.name) for f in dataclasses.fields(Signal)}
        rebuilt = Signal(**fields)
        assert type(signal) is Signal
        assert repr(signal) == repr(rebuilt)
        assert signal == rebuilt
        assert hash(signal) == hash(rebuilt)


def test_emit_fills_every_field_of_the_signal() -> None:
    state = LoanLedger(loan_id="L-1", client_id="C-1", exposure=Decimal("1000.00"))
    signal = emit(
        state,
        "arrears_escalated",
        date(2027, 3, 15),
        ("2027-03-15",),
        ("tick",),
        DEFAULT_POLICY,
        instalment_id="I-1",
        reason_code="AM04",
        reason_category="retryable",
        bucket=1,
    )
    assert signal == Signal(
        signal_id=signal_id("L-1", "arrears_escalated", "2027-03-15"),
        type="arrears_escalated",
        loan_id="L-1",
        client_id="C-1",
        business_date=date(2027, 3, 15),
        dpd=0,
        past_due_amount=Decimal("0.00"),
        exposure=Decimal("1000.00"),
        cause_event_ids=("tick",),
        instalment_id="I-1",
        reason_code="AM04",
        reason_category="retryable",
        bucket="31-60",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        signal.dpd = 1  # type: ignore[misc]  # still frozen after the __class__ switch


def _reference_snapshot(state: LoanLedger) -> dict[str, Any]:
    """``to_snapshot`` as it was (verbatim but for the helper's name)."""

    def d(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "v": 2,
        "loan_id": state.loan_id,
        "client_id": state.client_id,
        "exposure": None if state.exposure is None else str(state.exposure),
        "instalments": [
            [
                i.instalment_id,
                i.due_date.isoformat(),
                str(i.amount),
                str(i.paid),
                i.cause_event_id,
                i.missed,
                i.suspended,
            ]
            for i in state.instalments
        ],
        "collections": [
            [
                c.end_to_end_id,
                c.booking_date.isoformat(),
                [
                    [
                        a.instalment_id,
                        a.due_date.isoformat(),
                        str(a.instalment_amount),
                        str(a.amount),
                    ]
                    for a in c.allocations
                ],
            ]
            for c in state.collections
        ],
        "credit": [[c.source, str(c.amount)] for c in state.credit],
        "pauses": [
            [p.pause_id, p.start_date.isoformat(), p.end_date.isoformat()] for p in state.pauses
        ],
        "failure_dates": [x.isoformat() for x in state.failure_dates],
        "total_due": str(state.total_due),
        "net_received": str(state.net_received),
        "last_closed": d(state.last_closed),
        "in_arrears": state.in_arrears,
        "bucket": state.bucket,
        "last_cure": d(state.last_cure),
        "material_since": d(state.material_since),
        "default_since": d(state.default_since),
        "probation_start": d(state.probation_start),
        "distressed_on": d(state.distressed_on),
        "recent_ids": state.recent_ids.hex(),
    }


@PROPERTY
@given(partition_log())
def test_snapshots_are_byte_for_byte_what_they_were(log: list[DomainEvent]) -> None:
    partition = Partition()
    for event in log:
        partition.feed(event)
        for ledger in partition.ledgers.values():
            new, old = to_snapshot(ledger), _reference_snapshot(ledger)
            assert json.dumps(new) == json.dumps(old)
            assert new == old


def _reference_bucket_index(policy: DetectionPolicy, dpd: int) -> int:
    floors = policy.bucket_floors
    index = 0
    while index + 1 < len(floors) and dpd >= floors[index + 1]:
        index += 1
    return index


@given(
    st.lists(st.integers(2, 400), min_size=3, max_size=3, unique=True),
    st.integers(-10, 500),
)
def test_bucket_index_is_the_old_walk_over_the_floors(floors: list[int], dpd: int) -> None:
    policy = DetectionPolicy(bucket_floors=(1, *sorted(floors)))
    assert policy.bucket_index(dpd) == _reference_bucket_index(policy, dpd)
    assert DEFAULT_POLICY.bucket_index(dpd) == _reference_bucket_index(DEFAULT_POLICY, dpd)


@given(st.dates())
def test_cached_iso_dates_are_isoformat(day: date) -> None:
    assert iso(day) == day.isoformat()
