"""The enrolment file import: every bad row reported with its line, or everything imported."""

from __future__ import annotations

import io

import pytest

from schemas.codec import decode_enrolment
from services.intervention.enrol_csv import EnrolmentFileError, encoded, parse

HEADER = "client_id,loan_ids,segment,enrolment_date\n"


def test_a_valid_file_becomes_one_message_per_client() -> None:
    text = HEADER + "C-1,L-1;L-2,prevention,2026-01-05\nC-2,L-3,restructured,2026-01-06\n"
    messages = parse(io.StringIO(text))
    assert [m.data.client_id for m in messages] == ["C-1", "C-2"]
    assert messages[0].data.loan_ids == ("L-1", "L-2")
    assert messages[1].data.segment == "restructured"
    assert str(messages[0].time) == "2026-01-05 00:00:00+00:00"
    key, value = encoded(messages)[0]
    assert key == b"C-1"
    assert decode_enrolment(value) == messages[0]


def test_ids_are_stable_so_a_second_import_is_recognised() -> None:
    text = HEADER + "C-1,L-1,prevention,2026-01-05\n"
    assert parse(io.StringIO(text))[0].id == parse(io.StringIO(text))[0].id


def test_every_bad_row_is_reported_with_line_and_field_and_nothing_is_returned() -> None:
    text = (
        HEADER
        + "C-1,L-1,prevention,2026-01-05\n"
        + "C-2,L-2,vip,2026-01-05\n"
        + "C-3,L-3;L-3,prevention,2026-01-05\n"
        + "C-4,L-4,prevention,2026-02-30\n"
        + ",L-5,prevention,2026-01-05\n"
        + "C-1,L-6,prevention,2026-01-05\n"
        + "C-7,L-7,prevention\n"
    )
    with pytest.raises(EnrolmentFileError) as excinfo:
        parse(io.StringIO(text))
    found = {(e.line, e.field) for e in excinfo.value.errors}
    assert found == {
        (3, "segment"),
        (4, "loan_ids"),
        (5, "enrolment_date"),
        (6, "client_id"),
        (7, "client_id"),
        (8, "row"),
    }
    assert "also on line 2" in str(next(e for e in excinfo.value.errors if e.line == 7))


def test_a_wrong_header_is_refused() -> None:
    with pytest.raises(EnrolmentFileError) as excinfo:
        parse(io.StringIO("client,loans,segment,date\nC-1,L-1,prevention,2026-01-05\n"))
    assert excinfo.value.errors[0].line == 1
    assert excinfo.value.errors[0].field == "header"
