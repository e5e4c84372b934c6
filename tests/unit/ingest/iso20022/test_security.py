"""Hostile files are refused before anything is read, expanded or fetched.

The proofs do not rely on the parser's word: a Python audit hook records every file open
and socket connect during the import, and a real listening socket shows that nobody called.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from xmlschema.exceptions import XMLResourceForbidden

from services.ingest.iso20022 import (
    ImportOptions,
    ImportResult,
    import_bytes,
    import_file,
    safe_xml,
)
from services.ingest.iso20022.mandates import MandateDirectory
from tests.unit.ingest.iso20022.support import fixture_path

_AUDIT: dict[str, Any] = {"on": False, "events": []}


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _AUDIT["on"] and (event == "open" or event.startswith(("socket.", "urllib."))):
        _AUDIT["events"].append((event, args))


sys.addaudithook(_hook)  # hooks cannot be removed; this one records only while switched on


@pytest.fixture
def audit() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Everything opened or connected to while the test body runs."""
    _AUDIT["events"] = []
    _AUDIT["on"] = True
    try:
        yield _AUDIT["events"]
    finally:
        _AUDIT["on"] = False


def opened(events: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [os.fspath(args[0]) for event, args in events if event == "open" and args[0] is not None]


def network(events: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [event for event, _ in events if event.startswith(("socket.", "urllib."))]


def rejected(result: ImportResult, reason: str) -> None:
    assert result.file_error is not None, result
    assert result.file_error.reason == reason
    assert result.counts() == {"entries": 0, "events": 0, "skipped": 0, "errors": 0}


@pytest.fixture(autouse=True)
def warm(directory: MandateDirectory) -> None:
    """Compile the subset XSDs first, so their reads are not mistaken for the attack's."""
    import_file(fixture_path("camt054_collections.xml"), directory)
    import_file(fixture_path("pain002_rejects.xml"), directory)


def test_xxe_reading_a_local_file_is_refused_and_the_file_never_opened(
    directory: MandateDirectory, tmp_path: Path, audit: list[tuple[str, tuple[Any, ...]]]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    template = fixture_path("attack_xxe_file.xml").read_text()
    attack = tmp_path / "xxe.xml"
    attack.write_text(template.replace("file:///etc/passwd", secret.as_uri()))
    audit.clear()  # the setup above wrote files; from here on only the import runs

    paths = [fixture_path("attack_xxe_file.xml"), attack]
    for path in paths:
        result = import_file(path, directory)
        rejected(result, "dtd_forbidden")
        assert "TOP-SECRET-MARKER" not in repr(result)
        assert "root:" not in repr(result)
    assert opened(audit) == [str(path) for path in paths]  # the attack files, nothing else
    assert network(audit) == []


def test_billion_laughs_is_refused_without_expanding(
    directory: MandateDirectory, audit: list[tuple[str, tuple[Any, ...]]]
) -> None:
    started = time.perf_counter()
    result = import_file(fixture_path("attack_billion_laughs.xml"), directory)
    assert time.perf_counter() - started < 1.0
    rejected(result, "dtd_forbidden")


@pytest.mark.parametrize("name", ["attack_external_dtd.xml", "attack_parameter_entity.xml"])
def test_external_dtd_and_parameter_entities_reach_no_network(
    directory: MandateDirectory, audit: list[tuple[str, tuple[Any, ...]]], name: str
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        data = fixture_path(name).read_bytes().replace(b"127.0.0.1:9", f"127.0.0.1:{port}".encode())
        _AUDIT["events"].clear()
        result = import_bytes(data, directory)
        rejected(result, "dtd_forbidden")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    assert network(audit) == []


def test_xinclude_is_not_processed(directory: MandateDirectory) -> None:
    result = import_file(fixture_path("attack_xinclude.xml"), directory)
    rejected(result, "schema_violation")
    assert "root:" not in repr(result)


def test_oversize_file_is_refused_before_a_byte_is_read(
    directory: MandateDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(safe_xml.os, "read", counting_read)
    path = fixture_path("camt054_collections.xml")
    result = import_file(path, directory, options=ImportOptions(max_bytes=1024))
    rejected(result, "file_too_large")
    assert reads == []
    assert result.file_error is not None
    assert result.file_error.errors[0].msg == "file exceeds the limit of 1024 bytes"
    in_memory = import_bytes(path.read_bytes(), directory, options=ImportOptions(max_bytes=1024))
    rejected(in_memory, "file_too_large")


def test_a_file_that_grows_while_read_is_still_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(b"<a/>" + b" " * 5000)
    with pytest.raises(safe_xml.UnsafeXmlError) as caught:
        safe_xml.read_bounded(path, 4096)
    assert caught.value.reason == "file_too_large"
    assert safe_xml.read_bounded(path, 5004) == b"<a/>" + b" " * 5000


def test_non_regular_files_are_refused_without_blocking(
    directory: MandateDirectory, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    rejected(import_file(fifo, directory), "not_a_regular_file")  # would block if opened normally
    rejected(import_file(tmp_path, directory), "not_a_regular_file")
    rejected(import_file(tmp_path / "missing.xml", directory), "file_unreadable")


def test_deep_nesting_and_element_floods_are_bounded(directory: MandateDirectory) -> None:
    deep = b"<a>" * 200 + b"</a>" * 200
    rejected(import_bytes(deep, directory), "xml_too_deep")
    flood = b"<a>" + b"<b/>" * 1000 + b"</a>"
    rejected(
        import_bytes(flood, directory, options=ImportOptions(max_elements=500)),
        "xml_too_many_elements",
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<Document",
        b"<a>&undefined;</a>",
        b"\xff\xfe\x00garbage",
        fixture_path("camt054_returns.xml").read_bytes()[:-40],
    ],
)
def test_malformed_xml_is_a_clean_file_error(directory: MandateDirectory, data: bytes) -> None:
    result = import_bytes(data, directory)
    rejected(result, "xml_malformed")
    assert result.file_error is not None
    assert "NL37ABNA0518362947" not in result.file_error.errors[0].msg


def test_each_safety_layer_refuses_entities_on_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth: with the expat prescan disabled, xmlschema's defusing still holds."""
    attack = fixture_path("attack_billion_laughs.xml").read_bytes()
    with pytest.raises(XMLResourceForbidden):
        xmlschema.XMLResource(attack, defuse="always", allow="none", lazy=True)
    monkeypatch.setattr(safe_xml, "_prescan", lambda *_args, **_kwargs: None)
    for name in ("attack_billion_laughs.xml", "attack_xxe_file.xml", "attack_external_dtd.xml"):
        with pytest.raises(safe_xml.UnsafeXmlError) as caught:
            safe_xml.parse(
                fixture_path(name).read_bytes(), max_bytes=10**6, max_depth=64, max_elements=10**5
            )
        assert caught.value.reason == "entity_forbidden"


def test_schema_location_hints_are_never_fetched(
    directory: MandateDirectory, audit: list[tuple[str, tuple[Any, ...]]]
) -> None:
    data = (
        fixture_path("camt054_refund.xml")
        .read_bytes()
        .replace(
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">',
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08" '
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            b'xsi:schemaLocation="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08 '
            b'http://127.0.0.1:9/camt.054.001.08.xsd">',
        )
    )
    audit.clear()
    result = import_bytes(data, directory)
    assert result.file_error is None
    assert len(result.events) == 1
    assert network(audit) == []
    assert opened(audit) == []
