"""What mapping one entry yields, and the small parsing rules every mapper shares."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from schemas.ingest_api import FieldError
from services.ingest.iso20022.decoded import Node, text
from services.ingest.iso20022.options import ImportOptions

log = logging.getLogger(__name__)

AMSTERDAM: Final = ZoneInfo("Europe/Amsterdam")
INTERNAL_ERROR: Final = "internal_error"
NOT_PROVIDED: Final = "NOTPROVIDED"
"""SEPA's placeholder for an absent end-to-end id: it identifies nothing."""
EUR: Final = "EUR"

_DATE: Final = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")
_DATETIME: Final = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d{2}:\d{2})?"
)
_CODE: Final = re.compile(r"[A-Z0-9]{4}")


@dataclass(frozen=True, slots=True)
class Draft:
    """A canonical event before contract validation; its id is derived from ``id_parts``."""

    event_type: str
    data: dict[str, object]
    booking_date: date
    id_parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Skip:
    """The entry is understood and rightly produces no event."""

    reason: str


@dataclass(frozen=True, slots=True)
class Failure:
    """The entry cannot become an event; it is dead-lettered with these errors."""

    reason: str
    errors: tuple[FieldError, ...]


Outcome = Draft | Skip | Failure


@dataclass(frozen=True, slots=True)
class Unit:
    """One counted entry: a camt.054 transaction or a pain.002 transaction status.

    ``element`` is the XML the DLQ receives when the unit fails (for a transaction of a
    batch booking, the whole ``Ntry``: the transaction makes no sense without it).
    """

    location: str
    element: Element
    outcome: Outcome


def fail(reason: str, loc: str, msg: str) -> Failure:
    return Failure(reason, (FieldError(loc=loc, msg=msg),))


def iso_date(value: str | None) -> date | None:
    """An ``xs:date`` as a calendar date (a timezone suffix does not change the day)."""
    match = _DATE.fullmatch(value) if value else None
    if match is None:
        return None
    try:
        return date.fromisoformat(match["date"])
    except ValueError:
        return None


def booking_day(choice: Node | None) -> date | None:
    """``Dt``, or ``DtTm`` taken as the Amsterdam calendar day (naive times are local)."""
    if choice is None:
        return None
    if text(choice, "Dt") is not None:
        return iso_date(text(choice, "Dt"))
    return local_day(text(choice, "DtTm"))


def local_day(value: str | None) -> date | None:
    """The Amsterdam calendar day of an ``xs:dateTime`` (naive values are local time)."""
    match = _DATETIME.fullmatch(value) if value else None
    if match is None:
        return None
    fraction = f".{match['frac'][:6]:0<6}" if match["frac"] else ""
    zone = "+00:00" if match["tz"] == "Z" else (match["tz"] or "")
    try:
        moment = datetime.fromisoformat(match["base"] + fraction + zone)
        return (moment.astimezone(AMSTERDAM) if moment.tzinfo else moment).date()
    except (ValueError, OverflowError):
        return None


def plausible(day: date, created: date, options: ImportOptions) -> bool:
    """A booking or collection date close enough to the file's creation to be real."""
    earliest = created - timedelta(days=options.max_days_before_creation)
    latest = created + timedelta(days=options.max_days_after_creation)
    return earliest <= day <= latest


def reason_code(choice: Node | None) -> str | None:
    """``Rsn/Cd``, or a ``Rsn/Prtry`` that has the form of a code (4 letters/digits)."""
    return choose_code(text(choice, "Cd"), text(choice, "Prtry"))


def choose_code(code: str | None, proprietary: str | None) -> str | None:
    """The ISO code if given, else a proprietary value shaped like one (banks put ISO codes
    there too); anything else is not a reason code."""
    if code is not None:
        return code
    return proprietary if proprietary and _CODE.fullmatch(proprietary) else None


def guarded(location: str, element: Element, mapper: Callable[[], list[Unit]]) -> list[Unit]:
    """Run ``mapper`` for one entry; a bug or a surprise in it fails that entry only.

    The entry is dead-lettered as ``internal_error`` and the traceback logged (locations
    only, no content), so one odd entry cannot stop the money events of a whole file.
    """
    try:
        return mapper()
    except Exception:
        log.exception("mapping failed for the entry at %s", location)
        return [Unit(location, element, fail(INTERNAL_ERROR, location, "unexpected mapping error"))]


def end_to_end(value: str | None) -> str | None:
    """The end-to-end id, with SEPA's ``NOTPROVIDED`` placeholder read as absent."""
    return None if value is None or value == NOT_PROVIDED else value
