"""The one configuration every contract model shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ContractModel(BaseModel):
    """Base of every contract model.

    - ``frozen``: a message is a fact; nobody edits it after validation.
    - ``extra="forbid"``: an unknown field is a producer bug or an unannounced contract
      change, and must be rejected rather than silently dropped.
    - ``hide_input_in_errors``: validation errors end up in logs, HTTP responses and the
      DLQ; they must never echo IBANs, amounts or client ids back.
    - ``use_attribute_docstrings``: field docstrings become JSON Schema descriptions.
    - ``json_schema_serialization_defaults_required``: what we *emit* always carries the
      defaulted fields, so the serialization-mode JSON Schema marks them required.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        json_schema_serialization_defaults_required=True,
        use_attribute_docstrings=True,
    )
