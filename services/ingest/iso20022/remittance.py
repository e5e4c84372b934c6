"""Which loan a manual transfer pays: the loan id in the payment reference.

Convention (docs/iso20022.md): the client quotes the loan id, either as the structured
creditor reference (``RmtInf/Strd/CdtrRefInf/Ref``) or anywhere in the free text
(``RmtInf/Ustrd``) as a separate word. Only ids the directory knows count, compared
case-insensitively; exactly one distinct loan must be found.
"""

from __future__ import annotations

import re
from typing import Final

from services.ingest.iso20022.decoded import Node, nodes, text, texts
from services.ingest.iso20022.mandates import LoanRef, MandateDirectory

LOAN_REFERENCE_UNRESOLVED: Final = "loan_reference_unresolved"
LOAN_REFERENCE_AMBIGUOUS: Final = "loan_reference_ambiguous"

_SEPARATORS: Final = re.compile(r"[\s,;:()\[\]{}<>\"'|]+")
_TRIM: Final = ".#*"


def loan_for_transfer(remittance: Node | None, directory: MandateDirectory) -> LoanRef | str:
    """The loan the transfer names, or the reason code why there is not exactly one."""
    structured = {
        found
        for reference in (text(item, "CdtrRefInf", "Ref") for item in nodes(remittance, "Strd"))
        if reference and (found := directory.lookup_loan(reference.strip())) is not None
    }
    if structured:
        return structured.pop() if len(structured) == 1 else LOAN_REFERENCE_AMBIGUOUS
    words = {
        word.strip(_TRIM) for line in texts(remittance, "Ustrd") for word in _SEPARATORS.split(line)
    }
    free_text = {
        found for word in words if word and (found := directory.lookup_loan(word)) is not None
    }
    if len(free_text) == 1:
        return free_text.pop()
    return LOAN_REFERENCE_AMBIGUOUS if free_text else LOAN_REFERENCE_UNRESOLVED
