"""Tests for ledger.canonical: the canonical form, its strict decoder, and fuzzing."""

from __future__ import annotations

import enum
import hashlib
import json
import math
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    MAX_DEPTH,
    MAX_RECORD_BYTES,
    RecordFormatError,
    canonical_json,
    decode_record,
    encode_record,
    sha256_hex,
)


def nested(depth: int) -> Any:
    """``depth`` containers nested: alternately lists and objects."""
    value: Any = 0
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------


def test_canonical_form() -> None:
    assert canonical_json({"b": 1, "a": [True, False, None], "c": {"y": "z", "x": -7}}) == (
        b'{"a":[true,false,null],"b":1,"c":{"x":-7,"y":"z"}}'
    )
    assert canonical_json({}) == b"{}"
    assert canonical_json([]) == b"[]"
    assert canonical_json("x") == b'"x"'
    assert canonical_json(None) == b"null"
    assert canonical_json(2**200) == str(2**200).encode()


def test_unicode_is_raw_utf8_and_only_controls_are_escaped() -> None:
    value = {"名称": "呼和浩特 é 😀", "ctl": 'a"b\\c\n\t\x00\x1f\x7f\u2028'}
    out = canonical_json(value)
    assert out == ('{"ctl":"a\\"b\\\\c\\n\\t\\u0000\\u001f\x7f\u2028","名称":"呼和浩特 é 😀"}').encode()
    assert "呼和浩特".encode() in out


def test_keys_sorted_by_code_point() -> None:
    out = canonical_json({"b": 0, "B": 0, "a": 0, "é": 0, "😀": 0, "\uffff": 0, "": 0})
    keys = list(json.loads(out))
    assert keys == ["", "B", "a", "b", "é", "\uffff", "😀"]


def test_floats_finite_only_in_shortest_repr() -> None:
    assert canonical_json([0.5, 1.0, -2.25, 1e16, 1e-7, 0.1]) == (b"[0.5,1.0,-2.25,1e+16,1e-07,0.1]")
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(RecordFormatError, match="finite"):
            canonical_json({"x": [bad]})


def test_subclasses_encode_as_their_base_value() -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    assert canonical_json({"c": Colour.RED, "l": Level.HIGH}) == b'{"c":"red","l":3}'


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key"},
        {("a",): "tuple key"},
        {True: "bool key"},
        {None: "none key"},
        {"a": {2.5: "nested float key"}},
        ("tuple",),
        {"s": {1, 2}},
        {"b": b"bytes"},
        {"d": Decimal("1.5")},
        {"o": object()},
        [frozenset()],
    ],
)
def test_unsupported_values_rejected(value: Any) -> None:
    with pytest.raises(RecordFormatError):
        canonical_json(value)


def test_lone_surrogate_rejected() -> None:
    with pytest.raises(RecordFormatError, match="Unicode"):
        canonical_json({"x": "\ud800"})
    with pytest.raises(RecordFormatError, match="Unicode"):
        canonical_json({"\udfff": 1})


def test_depth_limit_on_encode() -> None:
    assert canonical_json(nested(MAX_DEPTH))
    with pytest.raises(RecordFormatError, match="nesting"):
        canonical_json(nested(MAX_DEPTH + 1))
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(RecordFormatError, match="nesting"):
        canonical_json(cyclic)


def test_encode_record_limits() -> None:
    assert encode_record({"a": 1}) == b'{"a":1}'
    with pytest.raises(RecordFormatError, match="object"):
        encode_record([1])  # type: ignore[arg-type]
    filler = MAX_RECORD_BYTES - len(b'{"x":""}')
    assert len(encode_record({"x": "a" * filler})) == MAX_RECORD_BYTES
    with pytest.raises(RecordFormatError, match="limit"):
        encode_record({"x": "a" * (filler + 1)})


def test_sha256_hex() -> None:
    assert sha256_hex(b"") == hashlib.sha256(b"").hexdigest()
    assert sha256_hex(canonical_json({"a": 1})) == hashlib.sha256(b'{"a":1}').hexdigest()


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------


def test_round_trip() -> None:
    record = {"id": "q-1", "eps": 0.25, "n": 12, "tags": ["a", "é"], "meta": {"ok": True}}
    data = encode_record(record)
    assert decode_record(data) == record
    assert decode_record(bytearray(data)) == record
    assert decode_record(memoryview(data)) == record
    assert decode_record(canonical_json({"d": nested(MAX_DEPTH - 1)})) == {"d": nested(MAX_DEPTH - 1)}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": 1}', "canonical"),  # space
        (b'{"a":1}\n', "canonical"),  # trailing newline is valid JSON, not canonical
        (b' {"a":1}', "canonical"),
        (b'{"b":1,"a":2}', "canonical"),  # unsorted keys
        (b'{"a":"\\u00e9"}', "canonical"),  # escaped non-ASCII
        (b'{"a":"\\/"}', "canonical"),  # needless escape
        (b'{"a":1.50}', "canonical"),
        (b'{"a":1E5}', "canonical"),
        (b'{"a":-0}', "canonical"),
        (b'{"a":1e400}', "finite"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":Infinity}', "Infinity"),
        (b'{"a":-Infinity}', "Infinity"),
        (b'{"a":1,"a":1}', "duplicate"),
        (b'{"a":{"b":1,"b":2}}', "duplicate"),
        (b'{"a":"\\ud800"}', "Unicode"),  # lone surrogate via escape
        (b'{"a":"\xff"}', "UTF-8"),
        (b'{"a":"\xc0\xaf"}', "UTF-8"),  # overlong encoding
        (b'{"a":"\xed\xa0\x80"}', "UTF-8"),  # UTF-8-encoded surrogate
        (b"\xef\xbb\xbf{}", "JSON"),  # BOM
        (b"", "JSON"),
        (b"{", "JSON"),
        (b'{"a":1}{}', "JSON"),
        (b"{'a':1}", "JSON"),
        (b'{"a":01}', "JSON"),
        (b'{"a":' + b"9" * 5000 + b"}", "JSON"),  # beyond the int digit limit
        (b"[]", "object"),
        (b'"x"', "object"),
        (b"1", "object"),
        (b"null", "object"),
    ],
)
def test_decoder_rejections(data: bytes, reason: str) -> None:
    with pytest.raises(RecordFormatError, match=reason):
        decode_record(data)


def test_decoder_rejects_non_bytes() -> None:
    for value in ('{"a":1}', None, 7, {"a": 1}):
        with pytest.raises(RecordFormatError, match="bytes"):
            decode_record(value)  # type: ignore[arg-type]


def test_decoder_depth_limit() -> None:
    ok = canonical_json({"x": nested(MAX_DEPTH - 1)})
    assert decode_record(ok)
    too_deep = b'{"x":[' + canonical_json(nested(MAX_DEPTH - 1)) + b"]}"
    with pytest.raises(RecordFormatError, match="nesting"):
        decode_record(too_deep)
    # Deep enough to overflow json's parser at the default recursion limit (the test
    # runner raises the limit, so restore the interpreter default for this check).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(RecordFormatError, match="nesting"):
            decode_record(b'{"x":' + b"[" * 30000 + b"]" * 30000 + b"}")
    finally:
        sys.setrecursionlimit(limit)
    # Brackets inside strings do not count as nesting.
    brackets = {"s": "[{" * 100 + '\\"'}
    assert decode_record(canonical_json(brackets)) == brackets


def test_decoder_size_limit() -> None:
    filler = MAX_RECORD_BYTES - len(b'{"x":""}')
    assert decode_record(canonical_json({"x": "a" * filler}))
    with pytest.raises(RecordFormatError, match="limit"):
        decode_record(canonical_json({"x": "a" * (filler + 1)}))


def test_error_is_a_value_error_with_position() -> None:
    assert issubclass(RecordFormatError, ValueError)
    with pytest.raises(RecordFormatError, match="byte 5"):
        decode_record(b'{"a": 1}')


# --------------------------------------------------------------------------
# Fuzzing
# --------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=25,
)
records = st.dictionaries(st.text(), json_values, max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    try:
        value = decode_record(data)
    except RecordFormatError:
        return
    assert isinstance(value, dict)
    assert canonical_json(value) == data


@settings(max_examples=200, deadline=None)
@given(records)
def test_fuzz_round_trip(record: dict[str, Any]) -> None:
    data = encode_record(record)
    assert decode_record(data) == record
    assert canonical_json(decode_record(data)) == data
    # Canonical bytes are what json parses back, and a whitespace edit breaks canonicality.
    assert json.loads(data) == record
    with pytest.raises(RecordFormatError):
        decode_record(data[:1] + b" " + data[1:])


@settings(max_examples=200, deadline=None)
@given(records, st.integers(min_value=0), st.integers(0, 255))
def test_fuzz_mutated_records(record: dict[str, Any], pos: int, byte: int) -> None:
    data = bytearray(encode_record(record))
    i = pos % len(data)
    data[i] = byte
    try:
        value = decode_record(bytes(data))
    except RecordFormatError:
        return
    assert canonical_json(value) == bytes(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_text_never_escapes_other_exceptions(text: str) -> None:
    try:
        value = decode_record(text.encode("utf-8", "surrogatepass"))
    except RecordFormatError:
        return
    assert canonical_json(value) == text.encode()
