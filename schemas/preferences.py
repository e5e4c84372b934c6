"""pilot.preferences.v1: a client's consent to be contacted on one Sofie channel."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Strict

from schemas.actions import SofieChannel
from schemas.base import ContractModel
from schemas.envelope import Envelope
from schemas.identifiers import Identifier

PREFERENCES_DATASCHEMA: Final = "urn:nazorg:schema:pilot.preferences:v1"


class ContactPreferenceData(ContractModel):
    client_id: Identifier
    channel: SofieChannel
    consent: Annotated[bool, Strict()]
    """``false`` is an opt-out: nothing is sent on this channel until consent is given again."""


class ContactPreference(Envelope):
    """Keyed by ``client_id``. ``time`` is when the client gave or withdrew consent: a later
    preference wins, whatever order the messages arrive in."""

    type: Literal["contact_preference_changed"]
    dataschema: Literal["urn:nazorg:schema:pilot.preferences:v1"] = PREFERENCES_DATASCHEMA
    data: ContactPreferenceData
