"""The HTTP answer written from verdicts is the contract's encoding of the same results."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.codec import encode
from schemas.ingest_api import FieldError, IngestResponse
from services.ingest.answer import encode_answer
from services.ingest.intake import Verdict

# Identifiers are 1..128 printable ASCII characters: quotes and backslashes included.
_ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128)
_errors = st.lists(
    st.builds(
        FieldError,
        loc=st.text(min_size=1, max_size=40),
        msg=st.text(min_size=1, max_size=80),  # any text, non-ASCII and control characters too
    ),
    min_size=1,
    max_size=3,
).map(tuple)


@st.composite
def _verdicts(draw: st.DrawFn) -> list[Verdict]:
    verdicts = []
    for index in range(draw(st.integers(min_value=0, max_value=12))):
        status = draw(st.sampled_from(["accepted", "duplicate", "rejected"]))
        if status == "rejected":
            event_id = draw(st.none() | _ids)
            errors = draw(_errors)
            verdicts.append(Verdict(index, event_id, "rejected", "unknown", "r", errors))
        else:
            verdicts.append(Verdict(index, draw(_ids), status, "instalment_due"))
    return verdicts


def _by_the_model(verdicts: list[Verdict]) -> bytes:
    return encode(IngestResponse.from_results([v.result for v in verdicts]))


@given(_verdicts())
def test_the_answer_is_byte_for_byte_the_models_encoding(verdicts: list[Verdict]) -> None:
    written = encode_answer(verdicts)
    assert written == _by_the_model(verdicts)
    answer = json.loads(written)
    assert answer["received"] == len(verdicts)
    assert [r["index"] for r in answer["results"]] == list(range(len(verdicts)))


def test_ids_with_quotes_and_backslashes_are_escaped_as_the_model_escapes_them() -> None:
    verdicts = [Verdict(0, 'a"b\\c', "accepted", "instalment_due")]
    assert encode_answer(verdicts) == _by_the_model(verdicts)
    assert json.loads(encode_answer(verdicts))["results"][0]["event_id"] == 'a"b\\c'


def test_an_answer_the_contract_forbids_is_refused_as_the_model_refuses_it() -> None:
    out_of_order = [Verdict(1, "e-1", "accepted", "instalment_due")]
    with pytest.raises(ValidationError, match=r"results_order|indexes"):
        encode_answer(out_of_order)
    rejected_without_errors = [Verdict(0, "e-0", "rejected", "unknown", "r")]
    with pytest.raises(ValidationError, match="errors"):
        encode_answer(rejected_without_errors)
    accepted_with_errors = [
        Verdict(0, "e-0", "accepted", "unknown", "", (FieldError(loc="$", msg="bad"),))
    ]
    with pytest.raises(ValidationError, match="errors"):
        encode_answer(accepted_with_errors)
