"""pain.002 transaction statuses to ``direct_debit_rejected`` events.

Only ``RJCT`` produces an event; accepted and pending statuses are skipped (and counted).
A transaction without its own status inherits the payment information's, then the group's
(ISO 20022 reporting rules). A rejected group or payment information that lists no
transactions cannot be mapped (we would not know which collections failed): it counts as one
erroneous entry so that an operator sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Final
from xml.etree.ElementTree import Element

from schemas.ingest_api import FieldError
from services.ingest.iso20022.decoded import Node, amount, node, nodes, text
from services.ingest.iso20022.decoding import SCHEMA_VIOLATION, Document, DocumentError, Entry
from services.ingest.iso20022.mandates import MandateDirectory
from services.ingest.iso20022.options import ImportOptions
from services.ingest.iso20022.outcomes import (
    EUR,
    Draft,
    Failure,
    Outcome,
    Skip,
    Unit,
    choose_code,
    end_to_end,
    fail,
    guarded,
    iso_date,
    plausible,
    reason_code,
)

KIND: Final = "pain.002"
REJECTED: Final = "RJCT"
PARTIAL: Final = "PART"
NOT_REJECTED: Final = frozenset(
    {
        "ACCC",
        "ACCP",
        "ACFC",
        "ACIS",
        "ACSC",
        "ACSP",
        "ACTC",
        "ACWC",
        "ACWP",
        "CANC",
        "PATC",
        "PDNG",
        "RCVD",
    }
)
"""Statuses that say the collection was not rejected (or not yet): nothing to emit."""
NOT_A_DIRECT_DEBIT_REPORT: Final = "not_a_direct_debit_report"


@dataclass(frozen=True, slots=True)
class _Context:
    """Status and first reason code inherited from the payment information and group."""

    status: str | None
    reason: str | None


def check_original_message(document: Document) -> None:
    """Refuse a status report about anything but direct debits (pain.008)."""
    original = document.header_text("OrgnlGrpInfAndSts", "OrgnlMsgNmId") or ""
    if not original.lower().startswith("pain.008"):
        raise DocumentError(
            NOT_A_DIRECT_DEBIT_REPORT,
            (
                FieldError(
                    loc=f"/Document/{document.spec.body}/OrgnlGrpInfAndSts/OrgnlMsgNmId",
                    msg="the report is not about a pain.008 direct-debit collection",
                ),
            ),
        )


def map_document(
    document: Document, directory: MandateDirectory, options: ImportOptions
) -> list[Unit]:
    """One ``Unit`` per ``TxInfAndSts``, plus one per rejected block without transactions."""
    check_original_message(document)
    body = document.body()
    group = body.find(document.qname("OrgnlGrpInfAndSts"))
    if group is None:  # required by the XSD
        raise DocumentError(SCHEMA_VIOLATION, (FieldError(loc="/Document", msg="no group"),))
    group_context = _context(document, group, inherited=_Context(None, None), tag="GrpSts")
    units: list[Unit] = []
    if group_context.status == REJECTED and not document.containers:
        units.append(
            Unit(
                f"/Document/{document.spec.body}/OrgnlGrpInfAndSts",
                group,
                fail(
                    "group_rejected",
                    f"/Document/{document.spec.body}/OrgnlGrpInfAndSts/GrpSts",
                    "the whole collection file was rejected without transaction details",
                ),
            )
        )
    entries = iter(document.entries)
    for container in document.containers:
        context = _context(document, container.element, inherited=group_context, tag="PmtInfSts")
        if container.entries == 0 and context.status == REJECTED:
            units.append(
                Unit(
                    container.location,
                    container.element,
                    fail(
                        "payment_information_rejected",
                        f"{container.location}/PmtInfSts",
                        "a payment information block was rejected without transaction details",
                    ),
                )
            )
        for _ in range(container.entries):
            entry = next(entries)
            units.extend(
                guarded(
                    entry.location,
                    entry.element,
                    partial(_unit, entry, context, document.created, directory, options),
                )
            )
    return units


def _unit(
    entry: Entry,
    context: _Context,
    created: date,
    directory: MandateDirectory,
    options: ImportOptions,
) -> list[Unit]:
    if entry.data is None:
        return [Unit(entry.location, entry.element, Failure(SCHEMA_VIOLATION, entry.errors))]
    outcome = map_transaction(
        entry.data, entry.location, context, created=created, directory=directory, options=options
    )
    return [Unit(entry.location, entry.element, outcome)]


def _context(document: Document, element: Element, *, inherited: _Context, tag: str) -> _Context:
    """Status and reason of a group or block (read from the validated tree).

    A reason is passed down only from a level whose status is RJCT: the reason of a
    partially accepted block says nothing about which of its transactions failed, or why.
    """
    status = element.findtext(document.qname(tag)) or inherited.status
    if status != REJECTED:
        return _Context(status, None)
    own = None
    for info in element.findall(document.qname("StsRsnInf")):
        choice = info.find(document.qname("Rsn"))
        own = _reason_from_element(document, choice) if choice is not None else None
        if own is not None:
            break
    return _Context(status, own or inherited.reason)


def _reason_from_element(document: Document, choice: Element) -> str | None:
    return choose_code(
        choice.findtext(document.qname("Cd")), choice.findtext(document.qname("Prtry"))
    )


def map_transaction(
    data: Node,
    location: str,
    context: _Context,
    *,
    created: date,
    directory: MandateDirectory,
    options: ImportOptions,
) -> Outcome:
    """A decoded ``TxInfAndSts`` to a reject event, a skip or a failure."""
    status = text(data, "TxSts") or context.status
    if status is None:
        return fail("status_missing", f"{location}/TxSts", "no status for the transaction")
    if status in NOT_REJECTED:
        return Skip(f"status_{status.lower()}")
    if status == PARTIAL:
        return fail(
            "status_ambiguous",
            f"{location}/TxSts",
            "PART applies to groups; a transaction needs its own status",
        )
    if status != REJECTED:
        return fail(
            "status_unknown", f"{location}/TxSts", "a status code this import does not know"
        )

    code = (
        next(
            (c for info in nodes(data, "StsRsnInf") if (c := reason_code(node(info, "Rsn")))), None
        )
        or context.reason
    )
    if code is None:
        return fail("reason_code_missing", f"{location}/StsRsnInf", "a reject needs a reason code")
    end_to_end_id = end_to_end(text(data, "OrgnlEndToEndId"))
    if end_to_end_id is None:
        return fail(
            "end_to_end_id_missing",
            f"{location}/OrgnlEndToEndId",
            "a reject needs the end-to-end id of the collection",
        )
    original = node(data, "OrgnlTxRef")
    if original is None:
        return fail(
            "original_transaction_missing",
            f"{location}/OrgnlTxRef",
            "amount, mandate and collection date come from OrgnlTxRef",
        )
    instructed = amount(original, "Amt", "InstdAmt")
    if instructed is None:
        return fail(
            "amount_missing", f"{location}/OrgnlTxRef/Amt", "the instructed amount is needed"
        )
    if instructed[1] != EUR:
        return fail(
            "currency_not_eur",
            f"{location}/OrgnlTxRef/Amt/InstdAmt",
            "only EUR amounts can be mapped",
        )
    collection_date = iso_date(text(original, "ReqdColltnDt"))
    if collection_date is None:
        return fail(
            "collection_date_missing",
            f"{location}/OrgnlTxRef/ReqdColltnDt",
            "the requested collection date is the reject's booking date",
        )
    if not plausible(collection_date, created, options):
        return fail(
            "collection_date_implausible",
            f"{location}/OrgnlTxRef/ReqdColltnDt",
            "the requested collection date is too far from the report's creation date",
        )
    mandate_id = text(original, "MndtRltdInf", "MndtId")
    if mandate_id is None:
        return fail(
            "mandate_id_missing",
            f"{location}/OrgnlTxRef/MndtRltdInf/MndtId",
            "a reject needs the mandate id",
        )
    loan = directory.lookup(mandate_id)
    if loan is None:
        return fail(
            "mandate_unknown",
            f"{location}/OrgnlTxRef/MndtRltdInf/MndtId",
            "the mandate is not in the mandate directory",
        )
    event_type = "direct_debit_rejected"
    return Draft(
        event_type=event_type,
        data={
            "loan_id": loan.loan_id,
            "client_id": loan.client_id,
            "end_to_end_id": end_to_end_id,
            "mandate_id": mandate_id,
            "bank_reference": text(data, "AcctSvcrRef"),
            "booking_date": collection_date,
            "amount": instructed[0],
            "currency": EUR,
            "reason_code": code,
        },
        booking_date=collection_date,
        # One collection attempt is one end-to-end id on one date; the report's own ids
        # (StsId, AcctSvcrRef) may change when the bank re-sends it.
        id_parts=(KIND, event_type, end_to_end_id, collection_date.isoformat()),
    )
