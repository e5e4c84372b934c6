"""Reading a bank file without trusting it: bounded size, no DTD, no entities, no network.

Three layers, each sufficient on its own for the attacks we know of:

1. ``read_bounded`` refuses anything but a regular file, and files over the byte limit before
   reading them (a FIFO or ``/dev/zero`` cannot stall or flood the import).
2. ``parse`` first streams the bytes through a bare expat parser that raises on any
   ``<!DOCTYPE``, entity or notation declaration and on external references, and bounds depth
   and element count. Without a DTD no entity can be declared, so nothing can expand (billion
   laughs) and nothing can be fetched (XXE, external DTD, parameter entities).
3. xmlschema's own defusing (``defuse="always"``, ``allow="none"``) then checks the prolog a
   second time before ElementTree builds the tree.
"""

from __future__ import annotations

import os
import stat
from typing import Final, NoReturn
from xml.etree import ElementTree
from xml.parsers import expat

import xmlschema
from xmlschema.exceptions import XMLResourceError, XMLResourceForbidden

FILE_TOO_LARGE: Final = "file_too_large"
NOT_A_REGULAR_FILE: Final = "not_a_regular_file"
FILE_UNREADABLE: Final = "file_unreadable"
DTD_FORBIDDEN: Final = "dtd_forbidden"
ENTITY_FORBIDDEN: Final = "entity_forbidden"
XML_TOO_DEEP: Final = "xml_too_deep"
XML_TOO_MANY_ELEMENTS: Final = "xml_too_many_elements"
XML_MALFORMED: Final = "xml_malformed"

_CHUNK: Final = 1 << 20


class UnsafeXmlError(Exception):
    """The file was refused before or while parsing; ``reason`` is a machine-readable code.

    The message names a limit or a position, never content from the file.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def read_bounded(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The file's bytes, refusing non-regular files and files over ``max_bytes``.

    The size is checked on the open descriptor before reading, and again while reading
    (the file may grow), so at most ``max_bytes + 1`` bytes are ever read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnsafeXmlError(FILE_UNREADABLE, f"cannot open file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeXmlError(NOT_A_REGULAR_FILE, "not a regular file")
        if info.st_size > max_bytes:
            raise UnsafeXmlError(FILE_TOO_LARGE, f"file exceeds the limit of {max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise UnsafeXmlError(FILE_TOO_LARGE, f"file exceeds the limit of {max_bytes} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeXmlError(FILE_UNREADABLE, f"cannot read file: {exc.strerror}") from None
    finally:
        os.close(fd)


def parse(data: bytes, *, max_bytes: int, max_depth: int, max_elements: int) -> ElementTree.Element:
    """The document's root element, after the three safety layers described above."""
    if len(data) > max_bytes:
        raise UnsafeXmlError(FILE_TOO_LARGE, f"file exceeds the limit of {max_bytes} bytes")
    _prescan(data, max_depth=max_depth, max_elements=max_elements)
    try:
        xmlschema.XMLResource(data, defuse="always", allow="none", lazy=True)
    except XMLResourceForbidden:
        raise UnsafeXmlError(ENTITY_FORBIDDEN, "entities are not allowed") from None
    except (XMLResourceError, xmlschema.XMLSchemaException, SyntaxError):
        raise UnsafeXmlError(XML_MALFORMED, "not well-formed XML") from None
    try:
        return ElementTree.fromstring(data)  # noqa: S314 - prescanned: no DTD, no entities
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise UnsafeXmlError(
            XML_MALFORMED, f"not well-formed XML at line {line}, column {column}"
        ) from None


class _RefusedError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _prescan(data: bytes, *, max_depth: int, max_elements: int) -> None:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    elements = 0

    def refuse(reason: str, message: str) -> NoReturn:
        raise _RefusedError(reason, message)

    def start(_name: str, _attrs: object) -> None:
        nonlocal depth, elements
        depth += 1
        elements += 1
        if depth > max_depth:
            refuse(XML_TOO_DEEP, f"elements nest deeper than {max_depth}")
        if elements > max_elements:
            refuse(XML_TOO_MANY_ELEMENTS, f"more than {max_elements} elements")

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def doctype(*_args: object) -> None:
        refuse(DTD_FORBIDDEN, "a DOCTYPE (DTD) is not allowed")

    def entity(*_args: object) -> None:
        refuse(ENTITY_FORBIDDEN, "entity and notation declarations are not allowed")

    def external(*_args: object) -> int:
        refuse(ENTITY_FORBIDDEN, "external references are not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.NotationDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except _RefusedError as exc:
        raise UnsafeXmlError(exc.reason, str(exc)) from None
    except expat.ExpatError as exc:
        message = expat.errors.messages.get(exc.code, "not well-formed")
        raise UnsafeXmlError(
            XML_MALFORMED, f"{message} at line {exc.lineno}, column {exc.offset}"
        ) from None
