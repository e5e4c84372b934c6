"""pilot.enrollments.v1 messages for the cohort, so the pilot can enrol the same clients
whose payments the simulator produces (randomisation is the intervention service's job)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from schemas.enrolments import ENROLMENTS_DATASCHEMA
from services.simulator.cohort import Client

ENROLMENT_SOURCE: Final = "bank/pilot-admin-simulator"


def enrolment_event(client: Client) -> dict[str, Any]:
    """The ``client_enrolled`` message of one client, JSON-ready and canonical."""
    day = client.enrolment_date.isoformat()
    return {
        "specversion": "1.0",
        "id": f"{client.client_id}:enrolled",
        "source": ENROLMENT_SOURCE,
        "type": "client_enrolled",
        "time": f"{day}T05:00:00Z",
        "dataschema": ENROLMENTS_DATASCHEMA,
        "datacontenttype": "application/json",
        "producedtime": None,
        "subject": None,
        "data": {
            "client_id": client.client_id,
            "loan_ids": [client.loan_id],
            "segment": client.segment,
            "enrolment_date": day,
        },
    }


def enrolment_events(cohort: Iterable[Client]) -> list[dict[str, Any]]:
    """Every client's enrolment, in enrolment order (ties by cohort order)."""
    ordered = sorted(cohort, key=lambda c: (c.enrolment_date, c.index))
    return [enrolment_event(client) for client in ordered]
