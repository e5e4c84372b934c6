"""The HTTP answer to a batch, written straight from its verdicts.

``encode(IngestResponse.from_results(...))`` validated one ``IngestResult`` per event, then the
response, then serialised them all: about 5 µs per event, more than encoding the event itself.
Accepted and duplicate results have one fixed shape (an index, an event id that passed the
``Identifier`` contract, a status, no errors), so their JSON is written here directly; a rejected
result, which carries field errors, still goes through the contract's model. The bytes equal the
model path's exactly (tests/unit/ingest/test_answer.py holds the two equal for generated batches).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from schemas.codec import encode
from schemas.ingest_api import IngestResponse
from services.ingest.intake import Verdict

_quote: Final = json.encoder.encode_basestring
"""JSON string literal of a str: for the printable-ASCII ids of accepted and duplicate events
this is exactly what pydantic writes (only ``"`` and ``\\`` are escaped)."""


def encode_answer(verdicts: Sequence[Verdict]) -> bytes:
    """``encode(IngestResponse.from_results([v.result for v in verdicts]))``, byte for byte."""
    if any(verdict.item_index != expected for expected, verdict in enumerate(verdicts)):
        # Not an answer the contract allows: let the model say why.
        return encode(IngestResponse.from_results([v.result for v in verdicts]))
    parts: list[str] = []
    append = parts.append
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for verdict in verdicts:
        status = verdict.status
        counts[status] += 1
        if status == "rejected" or verdict.errors or verdict.event_id is None:
            # The model checks that errors are given iff rejected, and writes them.
            append(encode(verdict.result).decode("utf-8"))
        else:
            event_id = _quote(verdict.event_id)
            append(
                f'{{"index":{verdict.item_index},"event_id":{event_id},"status":"{status}","errors":[]}}'
            )
    body = (
        f'{{"results":[{",".join(parts)}],"received":{len(verdicts)},'
        f'"accepted":{counts["accepted"]},"duplicate":{counts["duplicate"]},'
        f'"rejected":{counts["rejected"]}}}'
    )
    return body.encode("utf-8")
