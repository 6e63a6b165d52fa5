"""Canonical JSON: the one byte form of anything Provex hashes.

Encoding rules (``canonical_json``):

* object keys sorted by Unicode code point, separators ``","`` and ``":"``, no
  whitespace anywhere, UTF-8 output with non-ASCII characters written raw
  (only ``"``, ``\\`` and control characters below U+0020 are escaped, the
  short forms ``\\n \\t ...`` where JSON has them, ``\\u00XX`` otherwise);
* allowed values: ``dict`` with ``str`` keys, ``list``, ``str``, ``int``,
  ``bool``, ``None`` and *finite* ``float``. Floats are written in Python's
  shortest round-trip form (``0.5``, ``1.0``, ``1e+16``). That form is not the
  RFC 8785 (ECMAScript) one for integral or very large/small floats, so values
  another language must reproduce byte for byte, and all money, should be
  ``int`` (minor units) or ``str``;
* rejected: NaN and infinities, non-``str`` keys, tuples, sets, bytes and
  every other type, strings that are not valid Unicode (lone surrogates), and
  nesting deeper than ``MAX_DEPTH`` containers.

``decode_record`` is the strict inverse for ledger records: it accepts bytes
only if they are exactly ``canonical_json`` of a JSON object, at most
``MAX_RECORD_BYTES`` long, and raises ``RecordFormatError`` for anything else.
Its check is one C parse and one C re-encoding compared byte for byte
(``parse_canonical``); only text that fails it is parsed again, slowly, to name
the reason.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import json.scanner
import math
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = [
    "MAX_DEPTH",
    "MAX_RECORD_BYTES",
    "RecordFormatError",
    "canonical_json",
    "canonical_object",
    "decode_record",
    "decode_text",
    "encode_record",
    "parse_canonical",
    "quote",
    "sha256_hex",
]

MAX_DEPTH = 32
"""Most containers (objects/arrays) that may be nested inside each other."""

MAX_RECORD_BYTES = 64 * 1024
"""Largest encoded ledger record, in bytes."""

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))


class RecordFormatError(ValueError):
    """A value cannot be canonically encoded, or bytes are not a canonical record."""


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


FloatRule = Callable[[float], Any]  # what a float becomes before encoding (e.g. a decimal string)


def _check(value: Any, depth: int, path: str, floats: FloatRule | None = None) -> Any:
    """``value`` (with its floats rewritten by ``floats``), or ``RecordFormatError`` unless it is canonically
    encodable. One walk: containers are copied only when a float in them is rewritten."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, float):
        if floats is not None:
            value = floats(value)
            if not isinstance(value, float):
                return _check(value, depth, path)
        if not math.isfinite(value):
            raise RecordFormatError(f"{path}: {value!r} is not a finite number")
        return value
    if isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise RecordFormatError(f"{path}: nesting deeper than {MAX_DEPTH} levels")
        return _check_list(value, depth, path, floats) if isinstance(value, list) else \
            _check_dict(value, depth, path, floats)
    raise RecordFormatError(f"{path}: type {type(value).__name__} is not allowed in JSON")


_PLAIN = frozenset({str, int, bool, type(None)})


def _check_list(value: list[Any], depth: int, path: str, floats: FloatRule | None) -> list[Any]:
    out: list[Any] | None = None
    for i, item in enumerate(value):
        if type(item) in _PLAIN:
            continue
        new = _check(item, depth + 1, f"{path}[{i}]", floats)
        if new is not item:
            out = list(value) if out is None else out
            out[i] = new
    return value if out is None else out


def _check_dict(value: dict[Any, Any], depth: int, path: str, floats: FloatRule | None) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for key, item in value.items():
        if type(key) is not str and not isinstance(key, str):
            raise RecordFormatError(f"{path}: object key {key!r} is not a string")
        if type(item) in _PLAIN:
            continue
        new = _check(item, depth + 1, f"{path}.{key}", floats)
        if new is not item:
            out = dict(value) if out is None else out
            out[key] = new
    return value if out is None else out


def canonical_json(obj: Any, floats: FloatRule | None = None) -> bytes:
    """Encode ``obj`` as canonical JSON bytes; raise ``RecordFormatError`` if it can't be. ``floats``: what each
    float becomes first (ledger records write them as decimal strings)."""
    obj = _check(obj, 0, "$", floats)
    try:
        return _encode(obj).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RecordFormatError(f"string is not valid Unicode: {exc.reason}") from None
    except ValueError as exc:  # e.g. an int beyond the interpreter's digit limit
        raise RecordFormatError(f"cannot encode value: {exc}") from None


def encode_record(record: dict[str, Any]) -> bytes:
    """Canonical bytes of a ledger record: a JSON object of at most ``MAX_RECORD_BYTES``."""
    if not isinstance(record, dict):
        raise RecordFormatError(f"a record must be a JSON object, not {type(record).__name__}")
    data = canonical_json(record)
    if len(data) > MAX_RECORD_BYTES:
        raise RecordFormatError(f"record is {len(data)} bytes, limit is {MAX_RECORD_BYTES}")
    return data


def _max_depth(text: str) -> int:
    """Deepest container nesting in JSON ``text``, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise RecordFormatError(f"duplicate object key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise RecordFormatError(f"{name} is not allowed in a record")


def decode_record(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Parse a canonical ledger record; raise ``RecordFormatError`` for anything else.

    Rejects non-bytes input, more than ``MAX_RECORD_BYTES`` bytes, invalid UTF-8,
    malformed JSON, duplicate keys, NaN/Infinity, nesting deeper than
    ``MAX_DEPTH``, a top level that is not an object, and any text that differs
    from the canonical re-encoding of what it parses to.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise RecordFormatError(f"a record must be bytes, not {type(data).__name__}")
    if not isinstance(data, bytes):
        data = bytes(data)
    if len(data) > MAX_RECORD_BYTES:
        raise RecordFormatError(f"record is {len(data)} bytes, limit is {MAX_RECORD_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordFormatError(f"invalid UTF-8 at byte {exc.start}: {exc.reason}") from None
    return parse_canonical(text)


def decode_text(text: str) -> tuple[bytes, dict[str, Any]]:
    """``decode_record`` for a record read as text (e.g. from a database column): its UTF-8 bytes (what is hashed)
    and the object; ``RecordFormatError`` as there."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RecordFormatError(f"string is not valid Unicode: {exc.reason}") from None
    if len(data) > MAX_RECORD_BYTES:
        raise RecordFormatError(f"record is {len(data)} bytes, limit is {MAX_RECORD_BYTES}")
    return data, parse_canonical(text)


def parse_canonical(text: str) -> dict[str, Any]:
    """The object `text` is the canonical JSON of (``decode_record`` once the bytes are UTF-8 text within the size
    limit); ``RecordFormatError`` naming what is wrong otherwise. Canonical text costs one parse and one re-encoding,
    both in C, and a string comparison: exactly the text that re-encodes to itself passes, so duplicate keys,
    whitespace, key order, escapes and number forms are all caught by the comparison."""
    # Counting brackets (in C) bounds the depth from above; scan only when that bound is too high.
    if text.count("[") + text.count("{") > MAX_DEPTH and _max_depth(text) > MAX_DEPTH:
        raise RecordFormatError(f"nesting deeper than {MAX_DEPTH} levels")
    try:
        value, end = _scan(text, 0)
        again = _encode(value) if end == len(text) and type(value) is dict else None
    except (ValueError, RecursionError, StopIteration):  # malformed, or an out-of-range float such as 1e400
        again = None
    if again is None or again != text:
        _explain(text)
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_scan = json.scanner.c_make_scanner(_DECODER)  # type: ignore[attr-defined]  # (text, index) -> (value, end), in C
_quote = json.encoder.encode_basestring  # the C string encoder (raw UTF-8, short escapes), as _ENCODER's
_c_encode = json.encoder.c_make_encoder(  # type: ignore[attr-defined]  # the C encoder _ENCODER builds per call
    None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, False)


def _encode(value: Any) -> str:
    """``_ENCODER.encode(value)`` for a value without cycles (checked, or just parsed)."""
    return "".join(_c_encode(value, 0))


def quote(text: str) -> str:
    """The canonical JSON of a string (TypeError for anything else)."""
    return _quote(text)


def canonical_object(text: str, depth: int = MAX_DEPTH) -> dict[str, Any] | None:
    """The object `text` is the canonical JSON of, at most `depth` containers deep; None for anything else, without
    a reason (``parse_canonical`` names it). Its brackets are counted strings and all, so deep-looking text is None
    too."""
    if text.count("[") + text.count("{") > depth:
        return None
    try:
        value, end = _scan(text, 0)
        if end == len(text) and type(value) is dict and _encode(value) == text:
            return value
    except (ValueError, RecursionError, StopIteration):
        pass
    return None


def _explain(text: str) -> NoReturn:
    """Raise the precise reason `text` is not canonical JSON of an object (the slow path: errors only)."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecordFormatError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise RecordFormatError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RecordFormatError(f"a record must be a JSON object, not {type(value).__name__}")
    data = text.encode("utf-8")
    again = canonical_json(value)
    at = next((i for i, (a, b) in enumerate(zip(again, data, strict=False)) if a != b), min(len(again), len(data)))
    raise RecordFormatError(f"record is not in canonical form (differs at byte {at})")
