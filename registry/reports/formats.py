"""A published report as CSV (one line per value: its path and the value) and as a plain HTML page (a table per
list of rows). The JSON download is the canonical body itself, whose hash its record anchors."""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import Any


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _leaves(value[k], f"{path}.{k}" if path else k)]
    if isinstance(value, list) and value and not all(isinstance(v, (str, int)) for v in value):
        return [x for i, v in enumerate(value) for x in _leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def to_csv(report: dict[str, Any]) -> str:
    """`path,value` lines (lists of plain values as JSON), in the report's key order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "value"])
    for path, v in _leaves(report):
        writer.writerow([path, json.dumps(v, ensure_ascii=False) if isinstance(v, list) else ("" if v is None else v)])
    return out.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return escape(json.dumps(v, ensure_ascii=False))
    return "" if v is None else escape(str(v))


def _block(title: str, value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        cols = list(dict.fromkeys(k for r in value for k in r))
        head = "".join(f"<th>{escape(c)}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in value)
        return f"<h3>{escape(title)}</h3><table><tr>{head}</tr>{body}</table>"
    if isinstance(value, dict):
        return f"<h2>{escape(title)}</h2>" + "".join(_block(k, v) for k, v in value.items())
    return f"<p><b>{escape(title)}</b>: {_cell(value) if value not in (None, []) else '—'}</p>"


def to_html(report: dict[str, Any], report_hash: str, record_seq: int) -> str:
    """A self-contained page: every section, the hash and the record that anchors it."""
    title = f"{report['year']} annual report: {report['scope']}"
    body = "".join(_block(k, v) for k, v in report.items() if k not in ("format", "year", "scope"))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%;text-align:left}</style></head><body>"
            f"<h1>{escape(title)}</h1><p>{escape(report['format'])}; SHA-256 of the canonical JSON "
            f"<code>{report_hash}</code>, anchored by ledger record #{record_seq}.</p>{body}</body></html>")
