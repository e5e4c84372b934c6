"""The ISO 20022 messages we read, and the subset XSD that validates and decodes each.

A message is recognised by the namespace of its ``Document`` root element only; the file
name and any ``xsi:schemaLocation`` are ignored (never fetched).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

import xmlschema

MessageKind = Literal["camt.054", "pain.002"]

XSD_DIR: Final = Path(__file__).resolve().parent / "xsd"
ISO_PREFIX: Final = "urn:iso:std:iso:20022:tech:xsd:"


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """Where the entries of a message sit: ``Document/<body>/<container>/<entry>``."""

    name: str
    """Message definition with version, e.g. ``camt.054.001.08``."""
    kind: MessageKind
    body: str
    container: str
    entry: str

    @property
    def namespace(self) -> str:
        return ISO_PREFIX + self.name

    @property
    def xsd_path(self) -> Path:
        return XSD_DIR / f"{self.name}.subset.xsd"


SPECS: Final = (
    MessageSpec("camt.054.001.08", "camt.054", "BkToCstmrDbtCdtNtfctn", "Ntfctn", "Ntry"),
    MessageSpec("camt.054.001.02", "camt.054", "BkToCstmrDbtCdtNtfctn", "Ntfctn", "Ntry"),
    MessageSpec(
        "pain.002.001.10", "pain.002", "CstmrPmtStsRpt", "OrgnlPmtInfAndSts", "TxInfAndSts"
    ),
    MessageSpec(
        "pain.002.001.03", "pain.002", "CstmrPmtStsRpt", "OrgnlPmtInfAndSts", "TxInfAndSts"
    ),
)
BY_NAMESPACE: Final = {spec.namespace: spec for spec in SPECS}


@cache
def schema_for(spec: MessageSpec) -> xmlschema.XMLSchema10:
    """The compiled subset XSD (built once per process; it is read-only afterwards)."""
    return xmlschema.XMLSchema10(str(spec.xsd_path), allow="local", defuse="always")


@cache
def entry_declaration(spec: MessageSpec) -> xmlschema.XsdElement:
    """The XSD declaration of one entry, used to decode entries one by one."""
    path = f"m:Document/m:{spec.body}/m:{spec.container}/m:{spec.entry}"
    found = schema_for(spec).find(path, namespaces={"m": spec.namespace})
    if not isinstance(found, xmlschema.XsdElement):
        raise LookupError(f"{spec.xsd_path.name} does not declare {path}")
    return found


@cache
def element_names(spec: MessageSpec) -> frozenset[str]:
    """Every element name the subset XSD declares: only these may appear in an error."""
    return frozenset(
        component.local_name
        for component in schema_for(spec).iter_components()
        if isinstance(component, xmlschema.XsdElement) and component.local_name
    )
