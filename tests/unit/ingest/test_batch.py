from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.batch import BodyNotJsonError, Item, split_json_array, split_ndjson


def test_a_json_array_is_one_item_per_element() -> None:
    assert split_json_array(b'[{"a": 1}, 2, "x", null]') == [
        Item(0, {"a": 1}),
        Item(1, 2),
        Item(2, "x"),
        Item(3, None),
    ]
    assert split_json_array(b"  [ ]  ") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b'{"type": "instalment_due"}', "must be a JSON array"),
        (b"null", "must be a JSON array"),
        (b"[1] [2]", "not valid JSON"),
        (b"\xff[]", "not UTF-8"),
        ("[]".encode("utf-16"), "not UTF-8"),
        (b"[NaN]", "NaN is not a JSON value"),
        (b"[-Infinity]", "not a JSON value"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[" + b"9" * 5000 + b"]", "number is too long"),
    ],
)
def test_a_body_that_is_not_a_json_array_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(BodyNotJsonError, match=message):
        split_json_array(body)


def test_refusals_do_not_echo_the_body() -> None:
    with pytest.raises(BodyNotJsonError) as info:
        split_json_array(b'[{"iban": "NL91ABNA0417164300", oops}]')
    assert "NL91" not in str(info.value)


def test_ndjson_is_one_item_per_non_blank_line_and_a_bad_line_only_rejects_itself() -> None:
    body = b'{"a": 1}\r\n\n   \t\n{oops\n[2]\n"last"'
    items = split_ndjson(body)
    assert [(i.index, i.value) for i in items] == [(0, {"a": 1}), (1, None), (2, [2]), (3, "last")]
    assert items[1].error is not None
    assert items[1].error.startswith("line is not valid JSON")
    assert all(item.error is None for item in items if item.index != 1)


def test_ndjson_lines_end_only_at_newline() -> None:
    # U+2028 and U+0085 are legal inside JSON strings; splitlines() would cut there.
    items = split_ndjson('{"a": "x\u2028y\u0085z"}\n'.encode())
    assert items == [Item(0, {"a": "x\u2028y\u0085z"})]


def test_ndjson_without_one_json_line_is_not_json_at_all() -> None:
    with pytest.raises(BodyNotJsonError, match="no line"):
        split_ndjson(b"{oops\nnope")
    with pytest.raises(BodyNotJsonError, match="UTF-8"):
        split_ndjson(b'{"a": 1}\n\xff\n')
    assert split_ndjson(b"") == []
    assert split_ndjson(b"\n \n") == []


@given(st.binary(max_size=200))
def test_splitting_raises_nothing_but_body_not_json(body: bytes) -> None:
    for split in (split_json_array, split_ndjson):
        try:
            items = split(body)
        except BodyNotJsonError:
            continue
        assert [item.index for item in items] == list(range(len(items)))
