"""``nazorg intervention enroll FILE.csv``: enrolments from a file, all or nothing.

Every row is validated against the ``client_enrolled`` contract before anything is published:
one bad row and the whole file is refused, with the line and the reason for each bad row.
Publishing the same file again is harmless: the event ids are derived from the client id and
re-enrolling returns the arm already assigned.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final, TextIO

from pydantic import ValidationError

from schemas.codec import encode
from schemas.enrolments import Enrolment
from schemas.ids import deterministic_id

SOURCE: Final = "bank/pilot-admin"
COLUMNS: Final = ("client_id", "loan_ids", "segment", "enrolment_date")
LOAN_SEPARATOR: Final = ";"
MAX_ROWS: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class RowError:
    """One reason a row was refused; ``line`` is the physical line in the file (header = 1)."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class EnrolmentFileError(ValueError):
    """The file was refused; nothing from it was published."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s); nothing was imported")


def enrolment_message(client_id: str, loan_ids: Iterable[str], segment: str, day: str) -> Enrolment:
    """The ``client_enrolled`` message of one row; raises ``ValidationError`` when invalid."""
    return Enrolment.model_validate(
        {
            "id": deterministic_id("client_enrolled", client_id) if client_id else "",
            "source": SOURCE,
            "type": "client_enrolled",
            # Enrolment is a business fact of a day; 00:00 UTC keeps the day the same in
            # Europe/Amsterdam and makes the time reproducible.
            "time": f"{day}T00:00:00Z" if _is_date(day) else day,
            "data": {
                "client_id": client_id,
                "loan_ids": list(loan_ids),
                "segment": segment,
                "enrolment_date": day,
            },
        }
    )


def parse(stream: TextIO) -> list[Enrolment]:
    """Every row as a message, or ``EnrolmentFileError`` listing every bad row."""
    reader = csv.DictReader(stream)
    header = tuple(reader.fieldnames or ())
    if header != COLUMNS:
        raise EnrolmentFileError(
            [RowError(1, "header", f"expected columns {','.join(COLUMNS)}, got {','.join(header)}")]
        )
    messages: list[Enrolment] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if len(messages) + len(errors) >= MAX_ROWS:
            errors.append(RowError(line, "file", f"more than {MAX_ROWS} rows"))
            break
        if None in row or any(value is None for value in row.values()):
            errors.append(RowError(line, "row", f"expected {len(COLUMNS)} columns"))
            continue
        client_id = row["client_id"].strip()
        loans = [loan.strip() for loan in row["loan_ids"].split(LOAN_SEPARATOR)]
        try:
            message = enrolment_message(
                client_id, loans, row["segment"].strip(), row["enrolment_date"].strip()
            )
        except ValidationError as exc:
            errors.extend(_row_errors(line, exc))
            continue
        if client_id in seen:
            errors.append(RowError(line, "client_id", f"also on line {seen[client_id]}"))
            continue
        seen[client_id] = line
        messages.append(message)
    if errors:
        raise EnrolmentFileError(errors)
    return messages


def encoded(messages: Iterable[Enrolment]) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs for pilot.enrollments.v1, keyed by client id."""
    return [(m.data.client_id.encode("utf-8"), encode(m)) for m in messages]


def _row_errors(line: int, exc: ValidationError) -> list[RowError]:
    errors = []
    for error in exc.errors(include_input=False):
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] == "data":
            loc = loc[1:]
        field = ".".join(loc) or "row"
        if field in ("id", "time"):
            continue  # derived from client_id / enrolment_date, reported there
        errors.append(RowError(line, field, error["msg"]))
    return errors or [RowError(line, "row", "invalid")]


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
