"""Validating a parsed document against its subset XSD and decoding it entry by entry.

The document frame (everything but the entries' content: group header, notifications, the
position and number of entries) is validated first; an error there rejects the file. Each
entry is then validated and decoded on its own, so an error in it rejects only that entry,
which is the policy in docs/iso20022.md. Valid entries are decoded by the XSD into dicts
(``Decimal`` amounts, checked dates and codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final
from xml.etree.ElementTree import Element

import xmlschema

from schemas.ingest_api import FieldError
from services.ingest.iso20022.decoded import Node
from services.ingest.iso20022.messages import (
    BY_NAMESPACE,
    ISO_PREFIX,
    MessageSpec,
    element_names,
    entry_declaration,
    schema_for,
)
from services.ingest.iso20022.outcomes import local_day
from services.ingest.iso20022.xsd_errors import field_errors

UNSUPPORTED_MESSAGE: Final = "unsupported_message"
SCHEMA_VIOLATION: Final = "schema_violation"
CREATION_DATE_UNSUPPORTED: Final = "creation_date_unsupported"


class DocumentError(Exception):
    """The file as a whole is not a valid, supported message."""

    def __init__(self, reason: str, errors: tuple[FieldError, ...]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry element (``Ntry`` or ``TxInfAndSts``): decoded, or why it is not."""

    location: str
    element: Element
    container: Element
    data: Node | None
    errors: tuple[FieldError, ...]


@dataclass(frozen=True, slots=True)
class Container:
    """A ``Ntfctn`` or ``OrgnlPmtInfAndSts`` and how many entries it holds."""

    location: str
    element: Element
    entries: int


@dataclass(frozen=True, slots=True)
class Document:
    spec: MessageSpec
    root: Element
    created: date
    """``GrpHdr/CreDtTm`` as an Amsterdam calendar day: the anchor for date plausibility."""
    entries: tuple[Entry, ...]
    containers: tuple[Container, ...]

    def qname(self, name: str) -> str:
        return f"{{{self.spec.namespace}}}{name}"

    def body(self) -> Element:
        found = self.root.find(self.qname(self.spec.body))
        if found is None:  # impossible after validation; keeps the type honest
            raise DocumentError(SCHEMA_VIOLATION, (FieldError(loc="/Document", msg="empty"),))
        return found

    def header_text(self, *path: str) -> str | None:
        """Text of a validated element under the message body, e.g. ``GrpHdr/MsgId``."""
        return self.body().findtext("/".join(self.qname(name) for name in path))


def identify(root: Element) -> MessageSpec:
    """The message a ``Document`` root announces by its namespace."""
    namespace, _, local = (
        root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    )
    spec = BY_NAMESPACE.get(namespace)
    if local != "Document" or spec is None:
        shown = namespace[len(ISO_PREFIX) :] if namespace.startswith(ISO_PREFIX) else ""
        detail = f" ({shown})" if shown.replace(".", "").isalnum() and len(shown) < 40 else ""
        raise DocumentError(
            UNSUPPORTED_MESSAGE,
            (
                FieldError(
                    loc="/Document",
                    msg="not a supported message: expected a camt.054.001.08/02 or "
                    f"pain.002.001.10/03 Document{detail}",
                ),
            ),
        )
    return spec


def decode(root: Element, *, max_field_errors: int) -> Document:
    """Validate ``root`` and decode its entries; raise ``DocumentError`` for file errors."""
    spec = identify(root)
    known = element_names(spec)
    body = root.find(f"{{{spec.namespace}}}{spec.body}")
    located, containers = _locate(spec, body)

    # The frame is validated with the entries' positions checked but their content skipped;
    # each entry's content is then validated while it is decoded, so a bad entry fails alone.
    entry_ids = {id(element) for _, element, _ in located}

    def skip_entries(element: Element, _declaration: xmlschema.XsdElement) -> bool:
        return id(element) in entry_ids

    resource = xmlschema.XMLResource(root, allow="none")
    file_errors = list(schema_for(spec).iter_errors(resource, validation_hook=skip_entries))
    if file_errors:
        raise DocumentError(
            SCHEMA_VIOLATION, field_errors(file_errors, known=known, limit=max_field_errors)
        )

    namespace = f"{{{spec.namespace}}}"
    created = local_day(
        body.findtext(f"{namespace}GrpHdr/{namespace}CreDtTm") if body is not None else None
    )
    if created is None:
        raise DocumentError(
            CREATION_DATE_UNSUPPORTED,
            (FieldError(loc=f"/Document/{spec.body}/GrpHdr/CreDtTm", msg="date out of range"),),
        )

    declaration = entry_declaration(spec)
    entries = []
    for location, element, container in located:
        data, errors = _decode_entry(declaration, element)
        entries.append(
            Entry(
                location=location,
                element=element,
                container=container,
                data=data,
                errors=field_errors(
                    errors,
                    known=known,
                    prefix=location,
                    skip_segments=1,
                    limit=max_field_errors,
                ),
            )
        )
    return Document(
        spec=spec,
        root=root,
        created=created,
        entries=tuple(entries),
        containers=tuple(containers),
    )


def _locate(
    spec: MessageSpec, body: Element | None
) -> tuple[list[tuple[str, Element, Element]], list[Container]]:
    """Every entry (with its location and container) and every container, in document order.

    Only entries at their proper place count; one anywhere else is left to the frame check.
    """
    located: list[tuple[str, Element, Element]] = []
    containers: list[Container] = []
    if body is None:
        return located, containers
    namespace = f"{{{spec.namespace}}}"
    for c_index, container in enumerate(body.findall(namespace + spec.container), start=1):
        c_location = f"/Document/{spec.body}/{spec.container}[{c_index}]"
        children = container.findall(namespace + spec.entry)
        containers.append(Container(c_location, container, len(children)))
        located.extend(
            (f"{c_location}/{spec.entry}[{e_index}]", element, container)
            for e_index, element in enumerate(children, start=1)
        )
    return located, containers


def _decode_entry(
    declaration: xmlschema.XsdElement, element: Element
) -> tuple[Node | None, list[xmlschema.XMLSchemaValidationError]]:
    result = declaration.decode(element, validation="lax", strip_namespaces=True)
    if not isinstance(result, tuple):  # pragma: no cover - lax mode always returns a pair
        raise TypeError("xmlschema lax decode returned no error list")
    data, errors = result
    if errors:
        return None, list(errors)
    if data is None:  # an element without content, e.g. <TxInfAndSts/>
        return {}, []
    if not isinstance(data, dict):
        raise TypeError("an entry decodes to a dict")
    return data, []
