"""Finding the loan and client behind a bank entry.

ISO 20022 files carry the SEPA mandate id (collections, returns, rejects) or a payment
reference (manual transfers), never our loan or client id. The caller hands the importer a
``MandateDirectory``; in production it is built from the loan system's mandate register (see
docs/iso20022.md). An entry the directory cannot resolve is an error, never a guess.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from os import PathLike
from typing import Final, NamedTuple, Protocol

_IDENTIFIER: Final = re.compile(r"[!-~]{1,128}")
"""The contract's identifier rule (schemas.identifiers.Identifier)."""
CSV_COLUMNS: Final = ("mandate_id", "loan_id", "client_id")


class LoanRef(NamedTuple):
    loan_id: str
    client_id: str


class MandateDirectory(Protocol):
    """Resolves what a bank file names to our loan and client."""

    def lookup(self, mandate_id: str) -> LoanRef | None:
        """The loan collected under ``mandate_id`` (exact match), or None if unknown."""
        ...

    def lookup_loan(self, loan_id: str) -> LoanRef | None:
        """The loan named in a transfer's payment reference, matched case-insensitively
        (clients type it by hand), or None if unknown."""
        ...


class DirectoryError(ValueError):
    """The mandate register is inconsistent or unreadable. Messages name rows, not values."""


class InMemoryMandateDirectory:
    """A directory from ``(mandate_id, loan_id, client_id)`` rows, checked for consistency.

    Refused: identifiers the contracts would refuse, a mandate mapped to two loans, a loan
    with two clients, and two loan ids that differ only in case (a typed reference could not
    tell them apart). A loan may have several mandates (a new one after an IBAN change).
    """

    def __init__(self, rows: Iterable[tuple[str, str, str]]) -> None:
        self._mandates: dict[str, LoanRef] = {}
        self._loans: dict[str, LoanRef] = {}
        for number, row in enumerate(rows, start=1):
            self._add(number, row)

    def _add(self, number: int, row: tuple[str, str, str]) -> None:
        if len(row) != len(CSV_COLUMNS):
            raise DirectoryError(f"row {number}: expected {len(CSV_COLUMNS)} fields")
        mandate_id, loan_id, client_id = row
        for column, value in zip(CSV_COLUMNS, row, strict=True):
            if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
                raise DirectoryError(
                    f"row {number}: {column} must be 1..128 printable ASCII characters"
                )
        ref = LoanRef(loan_id, client_id)
        known = self._mandates.get(mandate_id)
        if known is not None and known != ref:
            raise DirectoryError(f"row {number}: mandate already maps to another loan")
        key = loan_id.casefold()
        same_loan = self._loans.get(key)
        if same_loan is not None and same_loan.loan_id != loan_id:
            raise DirectoryError(f"row {number}: loan id differs only in case from another")
        if same_loan is not None and same_loan.client_id != client_id:
            raise DirectoryError(f"row {number}: loan already belongs to another client")
        self._mandates[mandate_id] = ref
        self._loans[key] = ref

    def __len__(self) -> int:
        return len(self._mandates)

    def lookup(self, mandate_id: str) -> LoanRef | None:
        return self._mandates.get(mandate_id)

    def lookup_loan(self, loan_id: str) -> LoanRef | None:
        return self._loans.get(loan_id.casefold())


class CsvMandateDirectory(InMemoryMandateDirectory):
    """The directory from a UTF-8 CSV file with header ``mandate_id,loan_id,client_id``.

    Read once, completely, at construction: a register that is half readable must stop the
    import before any event is produced.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle, strict=True)
                header = next(reader, None)
                if header is None or tuple(header) != CSV_COLUMNS:
                    raise DirectoryError("header must be exactly: " + ",".join(CSV_COLUMNS))
                rows = [tuple(row) for row in reader if row]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DirectoryError(f"cannot read mandate register: {type(exc).__name__}") from exc
        super().__init__(_as_triples(rows))


def _as_triples(rows: list[tuple[str, ...]]) -> Iterable[tuple[str, str, str]]:
    for number, row in enumerate(rows, start=1):
        if len(row) != len(CSV_COLUMNS):
            raise DirectoryError(f"data row {number}: expected {len(CSV_COLUMNS)} fields")
        yield row[0], row[1], row[2]
