"""Mutated sample files (elements dropped, duplicated, renamed, moved, garbled; bytes cut or
injected) never make the import raise: the outcome is a clean file or entry error, counts
always add up, every event is a valid contract message, and no message echoes file content."""

from __future__ import annotations

import copy
import os
from xml.etree import ElementTree

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.ingest.iso20022 import ImportResult, import_bytes
from services.ingest.iso20022.mandates import CsvMandateDirectory
from tests.unit.ingest.iso20022.support import fixture_path

EXAMPLES = int(os.environ.get("ISO20022_PROPERTY_EXAMPLES", "400"))  # raise it to hunt bugs
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SAMPLES = [
    "camt054_collections.xml",
    "camt054_returns.xml",
    "camt054_refund.xml",
    "camt054_transfers.xml",
    "camt054_v02_returns.xml",
    "pain002_rejects.xml",
    "pain002_v03_rejects.xml",
]
TREES = {name: ElementTree.parse(fixture_path(name)).getroot() for name in SAMPLES}
DIRECTORY = CsvMandateDirectory(fixture_path("mandates.csv"))

# Values that exercise the rules: codes, statuses, edge amounts and dates, ids, junk.
INTERESTING = st.sampled_from(
    [
        "",
        " ",
        "0",
        "0.00",
        "-1.00",
        "1e3",
        "100.005",
        "99999999999999.99",
        "1.043,55",
        "EUR",
        "USD",
        "eur",
        "CRDT",
        "DBIT",
        "BOOK",
        "PDNG",
        "INFO",
        "RJCT",
        "ACCP",
        "PART",
        "CANC",
        "MD06",
        "AM04",
        "AC04",
        "XX99",
        "am04",
        "true",
        "false",
        "1",
        "NOTPROVIDED",
        "2026-02-30",
        "2026-03-02",
        "1999-01-01",
        "9999-12-31",
        "2026-03-02+14:00",
        "2026-03-02T24:00:00",
        "2026-03-02T23:59:59.123456789Z",
        "NL00ABNA0518362947",
        "NL37ABNA0518362947",
        "L-2026-000101",
        "NZH-MDT-000101",
        "NZH-MDT-999999",
        "a" * 36,
        "x" * 200,
        "pain.001.001.09",
        "é\u00a0ü",
        "id with spaces",
    ]
)
TEXT = st.one_of(INTERESTING, st.text(max_size=24))
XML_TEXT = st.one_of(
    INTERESTING,
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        max_size=24,
    ),
)
"""Text that keeps the document well-formed (XML 1.0 forbids most control characters)."""
TAGS = st.sampled_from(
    [
        "Ntry",
        "TxDtls",
        "Amt",
        "Refs",
        "MndtId",
        "RtrInf",
        "Rsn",
        "Cd",
        "Foo",
        "TxInfAndSts",
        "OrgnlTxRef",
        "Sts",
        "GrpHdr",
    ]
)


def _mutate(root: ElementTree.Element, data: st.DataObject) -> None:
    parents = {child: parent for parent in root.iter() for child in parent}
    if not parents:
        return
    target = data.draw(st.sampled_from(list(parents)))
    parent = parents[target]
    position = list(parent).index(target)
    operation = data.draw(
        st.sampled_from(["drop", "duplicate", "text", "rename", "attribute", "move", "clear"])
    )
    if operation == "drop":
        parent.remove(target)
    elif operation == "duplicate":
        parent.insert(position + 1, copy.deepcopy(target))
    elif operation == "text":
        target.text = data.draw(TEXT)
    elif operation == "rename":
        namespace = target.tag.partition("}")[0] + "}"
        target.tag = namespace + data.draw(TAGS)
    elif operation == "attribute":
        target.set(data.draw(st.sampled_from(["Ccy", "Foo"])), data.draw(TEXT))
    elif operation == "move":
        parent.remove(target)
        destination = data.draw(st.sampled_from(list(root.iter())))
        destination.insert(data.draw(st.integers(0, len(destination))), target)
    else:
        target.clear()


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    root = copy.deepcopy(TREES[draw(st.sampled_from(SAMPLES))])
    for _ in range(draw(st.integers(1, 3))):
        _mutate(root, draw(st.data()))
    raw = ElementTree.tostring(root, encoding="utf-8")
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "inject"]))
    if damage == "cut":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == "inject":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    return raw


def _check(result: ImportResult) -> None:
    counts = result.counts()
    assert counts["entries"] == counts["events"] + counts["skipped"] + counts["errors"]
    if result.file_error is not None:
        assert result.file_error.reason != "internal_error"
        assert counts == {"entries": 0, "events": 0, "skipped": 0, "errors": 0}
        details = list(result.file_error.errors)
    else:
        assert all(error.reason != "internal_error" for error in result.errors)
        details = [detail for error in result.errors for detail in error.errors]
    ids = [event.id for event in result.events]
    assert len(ids) == len(set(ids))
    for event in result.events:
        assert PAYMENT_EVENT_ADAPTER.validate_json(PAYMENT_EVENT_ADAPTER.dump_json(event)) == event
    for detail in details:
        assert 1 <= len(detail.loc) <= 512
        for secret in ("NL37ABNA0518362947", "NL00ABNA0518362947", "1.043,55", "1187.43"):
            assert secret not in detail.msg


@PROPERTY
@given(mutated_files())
def test_mutated_files_fail_cleanly_and_counts_add_up(raw: bytes) -> None:
    _check(import_bytes(raw, DIRECTORY))


@PROPERTY
@given(st.sampled_from(SAMPLES), st.data())
def test_a_value_garbled_in_one_entry_never_costs_the_others(
    name: str, data: st.DataObject
) -> None:
    """The policy in action: whatever happens to one entry, the others are still imported."""
    root = copy.deepcopy(TREES[name])
    entry_tag = "}Ntry" if name.startswith("camt") else "}TxInfAndSts"
    parents = {child: parent for parent in root.iter() for child in parent}
    victim = data.draw(st.sampled_from([e for e in root.iter() if e.tag.endswith(entry_tag)]))

    parent = parents[victim]
    position = list(parent).index(victim)
    parent.remove(victim)
    others = {event.id for event in import_bytes(ElementTree.tostring(root), DIRECTORY).events}
    parent.insert(position, victim)

    leaf = data.draw(st.sampled_from([e for e in victim.iter() if len(e) == 0]))
    leaf.text = data.draw(XML_TEXT)
    result = import_bytes(ElementTree.tostring(root), DIRECTORY)
    _check(result)
    assert result.file_error is None
    assert others <= {event.id for event in result.events}
