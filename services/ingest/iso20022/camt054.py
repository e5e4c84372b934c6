"""camt.054 entries to canonical payment events.

Pure: a decoded ``Ntry`` plus the mandate directory in, one outcome per transaction out. An
entry with several ``TxDtls`` is a batch booking (one credit for many collections): each
transaction is mapped on its own, and the batch is refused if its transactions do not add
up to the booked amount. The classification table is in docs/iso20022.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Final
from xml.etree.ElementTree import Element

from services.ingest.iso20022.decoded import Node, amount, flag, node, nodes, text
from services.ingest.iso20022.decoding import SCHEMA_VIOLATION, Document, Entry
from services.ingest.iso20022.mandates import MandateDirectory
from services.ingest.iso20022.options import ImportOptions
from services.ingest.iso20022.outcomes import (
    EUR,
    Draft,
    Failure,
    Outcome,
    Skip,
    Unit,
    booking_day,
    end_to_end,
    fail,
    guarded,
    plausible,
    reason_code,
)
from services.ingest.iso20022.remittance import loan_for_transfer

KIND: Final = "camt.054"
BOOKED: Final = "BOOK"
REFUND_REASON: Final = "MD06"


@dataclass(frozen=True, slots=True)
class _EntryFacts:
    """What the ``Ntry`` itself says, shared by its transactions."""

    amount: tuple[Decimal, str]
    direction: str
    reversal: bool
    status: str | None
    booking_date: date | None
    reference: str | None
    transaction_codes: frozenset[str]
    created: date


def map_document(
    document: Document, directory: MandateDirectory, options: ImportOptions
) -> list[Unit]:
    """The units of every entry, in document order."""
    units: list[Unit] = []
    for entry in document.entries:
        units.extend(
            guarded(
                entry.location,
                entry.element,
                partial(_entry_units, entry, document, directory=directory, options=options),
            )
        )
    return units


def _entry_units(
    entry: Entry, document: Document, *, directory: MandateDirectory, options: ImportOptions
) -> list[Unit]:
    if entry.data is None:
        return [Unit(entry.location, entry.element, Failure(SCHEMA_VIOLATION, entry.errors))]
    return map_entry(
        entry.data,
        entry.location,
        entry.element,
        notification_id=entry.container.findtext(document.qname("Id")),
        created=document.created,
        directory=directory,
        options=options,
    )


def map_entry(
    data: Node,
    location: str,
    element: Element,
    *,
    notification_id: str | None,
    created: date,
    directory: MandateDirectory,
    options: ImportOptions,
) -> list[Unit]:
    """One ``Unit`` per transaction of the entry (one for an entry without details)."""
    facts = _facts(data, notification_id, created)
    transactions: list[tuple[str, Node | None]] = [
        (f"{location}/NtryDtls[{d}]/TxDtls[{t}]", tx)
        for d, details in enumerate(nodes(data, "NtryDtls"), start=1)
        for t, tx in enumerate(nodes(details, "TxDtls"), start=1)
    ]
    batch = len(transactions) > 1
    if not batch:
        transactions = [(location, transactions[0][1] if transactions else None)]

    if facts.status != BOOKED:
        return [Unit(loc, element, Skip("not_booked")) for loc, _ in transactions]
    if batch:
        problem = _batch_problem(facts, [tx for _, tx in transactions], location)
        if problem is not None:
            return [Unit(loc, element, problem) for loc, _ in transactions]
    return [
        Unit(
            loc,
            element,
            _map_transaction(
                facts,
                tx,
                _Where(entry=location, tx=loc if batch else f"{location}/NtryDtls/TxDtls"),
                position=position if batch else None,
                directory=directory,
                options=options,
            ),
        )
        for position, (loc, tx) in enumerate(transactions, start=1)
    ]


@dataclass(frozen=True, slots=True)
class _Where:
    """Paths for error locations: the ``Ntry`` and its (only, or this) ``TxDtls``."""

    entry: str
    tx: str


def _facts(data: Node, notification_id: str | None, created: date) -> _EntryFacts:
    booked = amount(data, "Amt")
    if booked is None:  # required by the XSD: a decoded entry always has it
        raise ValueError("a validated entry has an amount")
    status = node(data, "Sts")
    return _EntryFacts(
        amount=booked,
        direction=text(data, "CdtDbtInd") or "",
        reversal=flag(data, "RvslInd") is True,
        # camt.054.001.08: <Sts><Cd>BOOK</Cd></Sts>; camt.054.001.02: <Sts>BOOK</Sts>
        status=text(status, "Cd") if status is not None else text(data, "Sts"),
        booking_date=booking_day(node(data, "BookgDt")),
        reference=_entry_reference(data, notification_id),
        transaction_codes=_transaction_codes(node(data, "BkTxCd")),
        created=created,
    )


def _entry_reference(data: Node, notification_id: str | None) -> str | None:
    """``AcctSvcrRef`` is unique per bank; ``NtryRef`` only within its notification, so
    without the former the reference is ``<Ntfctn/Id>:<NtryRef>``."""
    servicer = text(data, "AcctSvcrRef")
    if servicer is not None:
        return servicer
    entry_ref = text(data, "NtryRef")
    if entry_ref is None or notification_id is None:
        return None
    return f"{notification_id}:{entry_ref}"


def _transaction_codes(code: Node | None) -> frozenset[str]:
    found = set()
    domain, family = node(code, "Domn"), node(code, "Domn", "Fmly")
    if domain is not None and family is not None:
        found.add(f"{text(domain, 'Cd')}/{text(family, 'Cd')}/{text(family, 'SubFmlyCd')}")
    proprietary = text(code, "Prtry", "Cd")
    if proprietary:
        found.add(f"PRTRY:{proprietary}")
    return frozenset(found)


def _own_amount(tx: Node | None) -> tuple[Decimal, str] | None:
    return amount(tx, "Amt") or amount(tx, "AmtDtls", "TxAmt", "Amt")


def _batch_problem(facts: _EntryFacts, txs: list[Node | None], location: str) -> Failure | None:
    """A batch whose transactions do not add up to the booking cannot be trusted at all."""
    total = Decimal(0)
    for tx in txs:
        own = _own_amount(tx)
        if own is None or own[1] != facts.amount[1]:
            return fail(
                "batch_amount_missing",
                f"{location}/NtryDtls",
                "every transaction of a batch booking needs an amount in the entry currency",
            )
        direction = text(tx, "CdtDbtInd") or facts.direction
        total += own[0] if direction == facts.direction else -own[0]
    if total != facts.amount[0]:
        return fail(
            "batch_total_mismatch",
            f"{location}/Amt",
            "the transactions of the batch booking do not add up to the entry amount",
        )
    return None


def _map_transaction(
    facts: _EntryFacts,
    tx: Node | None,
    where: _Where,
    *,
    position: int | None,
    directory: MandateDirectory,
    options: ImportOptions,
) -> Outcome:
    own = _own_amount(tx)
    if position is None and own is not None and own != facts.amount:
        return fail(
            "amount_mismatch", f"{where.tx}/Amt", "the transaction amount differs from the entry's"
        )
    value, currency = own if position is not None and own is not None else facts.amount
    if currency != EUR:
        amount_path = f"{where.tx}/Amt" if position is not None else f"{where.entry}/Amt"
        return fail("currency_not_eur", amount_path, "only EUR amounts can be mapped")
    direction = text(tx, "CdtDbtInd") or facts.direction
    if position is None and direction != facts.direction:
        return fail(
            "direction_mismatch",
            f"{where.tx}/CdtDbtInd",
            "the transaction direction differs from the entry's",
        )
    if facts.booking_date is None:
        return fail(
            "booking_date_missing", f"{where.entry}/BookgDt", "a booked entry needs a booking date"
        )
    if not plausible(facts.booking_date, facts.created, options):
        return fail(
            "booking_date_implausible",
            f"{where.entry}/BookgDt",
            "the booking date is too far from the file's creation date",
        )

    refs = node(tx, "Refs")
    mandate_id = text(refs, "MndtId")
    returned = node(tx, "RtrInf")
    tx_reference = text(refs, "AcctSvcrRef")
    # Transactions of one batch share the entry's reference: their position tells them apart.
    discriminator = f"tx{position}" if position is not None and tx_reference is None else ""
    common = _Common(
        where=where,
        end_to_end_id=end_to_end(text(refs, "EndToEndId")),
        bank_reference=tx_reference or facts.reference,
        booking_date=facts.booking_date,
        amount=value,
        discriminator=discriminator,
    )

    if direction == "CRDT":
        if facts.reversal:
            return fail(
                "unsupported_reversal",
                f"{where.entry}/RvslInd",
                "a reversed debit is not a client payment this import can map",
            )
        if returned is not None:
            return fail(
                "unsupported_credit_return",
                f"{where.tx}/RtrInf",
                "a returned outgoing payment is not a client payment",
            )
        if mandate_id is not None:
            iban = text(tx, "RltdPties", "DbtrAcct", "Id", "IBAN")
            return _collection(common, mandate_id, iban, directory)
        return _transfer(common, node(tx, "RmtInf"), directory)

    if returned is None and not facts.reversal:
        if mandate_id is None:
            return Skip("not_a_client_payment")  # fees, our own outgoing transfers
        return fail(
            "return_reason_missing",
            f"{where.tx}/RtrInf",
            "a debit on a mandate without return information cannot be mapped",
        )
    code = reason_code(node(returned, "Rsn"))
    if code is None:
        return fail("return_reason_missing", f"{where.tx}/RtrInf/Rsn", "a return needs a reason")
    refund = code == REFUND_REASON or bool(
        facts.transaction_codes & options.refund_bank_transaction_codes
    )
    return _reversal(common, mandate_id, code, refund=refund, directory=directory)


@dataclass(frozen=True, slots=True)
class _Common:
    where: _Where
    end_to_end_id: str | None
    bank_reference: str | None
    booking_date: date
    amount: Decimal
    discriminator: str

    def draft(self, event_type: str, data: dict[str, object]) -> Draft:
        return Draft(
            event_type=event_type,
            data={
                **data,
                "booking_date": self.booking_date,
                "amount": self.amount,
                "currency": EUR,
            },
            booking_date=self.booking_date,
            id_parts=(
                KIND,
                event_type,
                self.end_to_end_id or "",
                self.bank_reference or "",
                self.discriminator,
            ),
        )

    def required(self) -> Failure | None:
        """End-to-end id and bank reference: the identity of a direct-debit transaction."""
        if self.end_to_end_id is None:
            return fail(
                "end_to_end_id_missing",
                f"{self.where.tx}/Refs/EndToEndId",
                "a direct-debit transaction needs its end-to-end id",
            )
        if self.bank_reference is None:
            return _reference_missing(self.where)
        return None


def _collection(
    common: _Common, mandate_id: str, iban: str | None, directory: MandateDirectory
) -> Outcome:
    missing = common.required()
    if missing is not None:
        return missing
    loan = directory.lookup(mandate_id)
    if loan is None:
        return _unknown_mandate(common.where)
    return common.draft(
        "direct_debit_collected",
        {
            "loan_id": loan.loan_id,
            "client_id": loan.client_id,
            "end_to_end_id": common.end_to_end_id,
            "mandate_id": mandate_id,
            "bank_reference": common.bank_reference,
            "debtor_iban": iban,
        },
    )


def _reversal(
    common: _Common,
    mandate_id: str | None,
    code: str,
    *,
    refund: bool,
    directory: MandateDirectory,
) -> Outcome:
    if mandate_id is None:
        return fail(
            "mandate_id_missing",
            f"{common.where.tx}/Refs/MndtId",
            "a return needs the mandate id of the collection it undoes",
        )
    missing = common.required()
    if missing is not None:
        return missing
    loan = directory.lookup(mandate_id)
    if loan is None:
        return _unknown_mandate(common.where)
    return common.draft(
        "direct_debit_refunded" if refund else "direct_debit_returned",
        {
            "loan_id": loan.loan_id,
            "client_id": loan.client_id,
            "end_to_end_id": common.end_to_end_id,
            "mandate_id": mandate_id,
            "bank_reference": common.bank_reference,
            "reason_code": code,
        },
    )


def _transfer(common: _Common, remittance: Node | None, directory: MandateDirectory) -> Outcome:
    if common.bank_reference is None:
        return _reference_missing(common.where)
    loan = loan_for_transfer(remittance, directory)
    if isinstance(loan, str):
        return fail(
            loan,
            f"{common.where.tx}/RmtInf",
            "the payment reference must name exactly one known loan",
        )
    return common.draft(
        "payment_received",
        {
            "loan_id": loan.loan_id,
            "client_id": loan.client_id,
            "bank_reference": common.bank_reference,
            "end_to_end_id": common.end_to_end_id,
        },
    )


def _unknown_mandate(where: _Where) -> Failure:
    return fail(
        "mandate_unknown", f"{where.tx}/Refs/MndtId", "the mandate is not in the mandate directory"
    )


def _reference_missing(where: _Where) -> Failure:
    return fail(
        "bank_reference_missing",
        f"{where.entry}/AcctSvcrRef",
        "the entry needs the bank's reference (AcctSvcrRef or NtryRef)",
    )
