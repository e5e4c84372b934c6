from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.identifiers import Identifier, Pseudonym
from schemas.ids import deterministic_id

IDENTIFIER = TypeAdapter(Identifier)


def test_deterministic_id_is_truncated_sha256_over_unit_separated_parts() -> None:
    expected = hashlib.sha256(b"L-1\x1f2026-03-02\x1farrears_onset").hexdigest()[:32]
    assert deterministic_id("L-1", "2026-03-02", "arrears_onset") == expected
    assert len(expected) == 32


def test_deterministic_id_distinguishes_part_boundaries() -> None:
    assert deterministic_id("ab", "c") != deterministic_id("a", "bc")
    with pytest.raises(ValueError, match="separator"):
        deterministic_id("a\x1fb")
    with pytest.raises(ValueError, match="at least one part"):
        deterministic_id()


def test_an_hmac_sha256_hex_digest_is_a_valid_pseudonym() -> None:
    digest = hmac.new(b"k" * 32, b"C-0001", hashlib.sha256).hexdigest()
    assert TypeAdapter(Pseudonym).validate_python(digest) == digest


@pytest.mark.parametrize("good", ["a", "L-0001/2026:x", "x" * 128, deterministic_id("a")])
def test_identifiers_accept_printable_ascii(good: str) -> None:
    assert IDENTIFIER.validate_python(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", "tab\t", "new\nline", "café", 12])
def test_identifiers_reject_empty_long_whitespace_non_ascii_and_numbers(bad: object) -> None:
    with pytest.raises(ValidationError):
        IDENTIFIER.validate_python(bad)


@pytest.mark.parametrize("bad", ["A3" * 32, "a3" * 31, "g" * 64])
def test_pseudonyms_are_64_lowercase_hex(bad: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Pseudonym).validate_python(bad)
