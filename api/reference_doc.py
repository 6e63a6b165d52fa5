"""`docs/api-reference.md`: every API operation, generated from the app's own OpenAPI document.

Each operation gets the roles that may call it (`x-roles`, read from the route's own `require(...)`), the typed
client method that calls it (`api.client.ROUTES`), its path and query parameters, its body's fields with an
example where the schema gives one, and the answers it documents. Nothing is written by hand, so the reference
cannot drift from the server: `tests/api/test_reference_doc.py` regenerates it and compares, and checks each
example against the route's body model.

    python -m api.reference_doc --write     # rewrite docs/api-reference.md
    python -m api.reference_doc --check     # exit 1 when the file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from api.app import create_app
from api.client import ROUTES
from api.settings import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "api-reference.md"
METHODS = ("get", "post", "put", "patch", "delete")
STATE_CHANGING = {"post", "put", "patch", "delete"}
Spec = dict[str, Any]

HEADER = """# API reference

Generated from the server's OpenAPI document by `python -m api.reference_doc --write`; a test keeps it equal to
the server, so every operation the API has is here. The live document is at `/openapi.json` (and `/docs`).

- **Who**: the roles whose API key (or portal session) may call the operation; `public` needs no key.
- **Signed**: a state-changing request carries its caller's signature over the request (`Provex-*` headers) and,
  when it makes chain acts, the signed forward requests; see [signing.md](signing.md). The typed client
  (`api.client.ProvexClient`, named under each operation) does both.
- Errors are JSON `{"error": code, "detail": ..., "field": ...}` with a 4xx status naming the problem; 503 with
  `Retry-After` while the chain or the database does not answer.
- Money is in fen (integers); times are ISO-8601 UTC or unix seconds where the name says so.

For a first run step by step, read [walkthrough.md](walkthrough.md).
"""


def app_spec() -> Spec:
    """The OpenAPI document of the app as deployed outside dev (no dev-only routes)."""
    return create_app(Settings.model_construct(env="prod")).openapi()


def _ref_name(schema: Spec) -> str | None:
    ref = schema.get("$ref") or next((s.get("$ref") for s in schema.get("anyOf", ()) if "$ref" in s), None)
    return str(ref).rsplit("/", 1)[-1] if ref else None


def _type_of(schema: Spec) -> str:
    """A short type name for a field's schema."""
    name = _ref_name(schema)
    if name and "anyOf" not in schema:
        return name
    if "anyOf" in schema:
        return " \\| ".join(_type_of(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type_of(schema.get('items', {}))}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"dict[str, {_type_of(schema['additionalProperties'])}]"
    return str(kind)


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def body_schema(op: Spec) -> str | None:
    """The name of the operation's JSON body schema, if it takes one."""
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _ref_name(schema) if schema else None


def example_of(spec: Spec, name: str) -> Any | None:
    """The example a body schema gives (`examples[0]` or `example`), if any."""
    schema = spec["components"]["schemas"].get(name, {})
    if schema.get("examples"):
        return schema["examples"][0]
    return schema.get("example")


def _parameters(op: Spec) -> list[str]:
    params = op.get("parameters") or []
    if not params:
        return []
    lines = ["", "| parameter | in | required | type | meaning |", "| --- | --- | --- | --- | --- |"]
    for p in params:
        lines.append(f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                     f"{_type_of(p.get('schema', {}))} | {_cell(p.get('description'))} |")
    return lines


def _fields(schema: Spec) -> list[str]:
    """A schema's fields as a table: name, type, required, meaning (its description, when it has one)."""
    props, required = schema.get("properties", {}), set(schema.get("required", ()))
    if not props:
        return []
    lines = ["", "| field | type | required | meaning |", "| --- | --- | --- | --- |"]
    for field, fs in props.items():
        lines.append(f"| `{field}` | {_type_of(fs)} | {'yes' if field in required else 'no'} | "
                     f"{_cell(fs.get('description'))} |")
    return lines


def _nested(spec: Spec, names: set[str]) -> list[str]:
    """The schemas the bodies use inside their fields, each with its own fields (transitively)."""
    schemas, seen, todo = spec["components"]["schemas"], set(names), list(names)
    found: list[str] = []
    while todo:
        for fs in schemas.get(todo.pop(), {}).get("properties", {}).values():
            for sub in (fs, fs.get("items", {}), *fs.get("anyOf", ()), fs.get("additionalProperties") or {}):
                ref = _ref_name(sub) if isinstance(sub, dict) else None
                if ref and ref not in seen:
                    seen.add(ref)
                    todo.append(ref)
                    found.append(ref)
    lines = ["", "## Types used inside bodies", ""] if found else []
    for name in sorted(found):
        schema = schemas[name]
        lines += [f"### `{name}`", *(["", _cell(schema["description"])] if schema.get("description") else []),
                  *_fields(schema)]
        lines += ["", "One of: " + ", ".join(f"`{v}`" for v in schema["enum"])] if "enum" in schema else []
        lines.append("")
    return lines


def _body(spec: Spec, op: Spec) -> list[str]:
    name = body_schema(op)
    if name is None:
        return []
    schema = spec["components"]["schemas"].get(name, {})
    lines = ["", f"Body: `{name}`" + (f" — {_cell(schema['description'])}" if schema.get("description") else "")]
    lines += _fields(schema)
    example = example_of(spec, name)
    if example is not None:
        lines += ["", "Example body:", "", "```json", json.dumps(example, ensure_ascii=False, indent=2), "```"]
    return lines


def _answers(op: Spec) -> list[str]:
    out = []
    for code, resp in sorted(op.get("responses", {}).items()):
        content = resp.get("content", {}).get("application/json", {}).get("schema", {})
        name = _ref_name(content) if content else None
        out.append(f"`{code}` {_cell(resp.get('description'))}" + (f" (`{name}`)" if name else ""))
    return ["", "Answers: " + "; ".join(out)] if out else []


def operation(spec: Spec, method: str, path: str, op: Spec) -> list[str]:
    """The section of one operation."""
    roles = ", ".join(op.get("x-roles") or ["public"])
    client = ROUTES.get((method.upper(), path))
    lines = [f"### `{method.upper()} {path}`", "", _cell(op.get("summary") or op.get("description")), "",
             f"- Who: {roles}" + ("; signed" if method in STATE_CHANGING and roles != "public" else ""),
             f"- Client: `ProvexClient.{client}`" if client else "- Client: none"]
    description = op.get("description")
    if description and description != op.get("summary"):
        lines += ["", description.strip()]
    return lines + _parameters(op) + _body(spec, op) + _answers(op) + [""]


def render(spec: Spec) -> str:
    """The whole reference: a table of contents by tag, then each operation."""
    by_tag: dict[str, list[tuple[str, str, Spec]]] = defaultdict(list)
    for path, ops in spec["paths"].items():
        for method in METHODS:
            if method in ops:
                by_tag[(ops[method].get("tags") or ["other"])[0]].append((method, path, ops[method]))
    total = sum(len(v) for v in by_tag.values())
    lines = [HEADER, f"{total} operations.", "", "| tag | operations |", "| --- | --- |"]
    lines += [f"| [{tag}](#{tag.replace(' ', '-')}) | {len(ops)} |" for tag, ops in sorted(by_tag.items())]
    for tag, ops in sorted(by_tag.items()):
        lines += ["", f"## {tag}", ""]
        for method, path, op in ops:
            lines += operation(spec, method, path, op)
    bodies = {b for ops in by_tag.values() for _, _, op in ops if (b := body_schema(op))}
    lines += _nested(spec, bodies)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"rewrite {DOC.name}")
    ap.add_argument("--check", action="store_true", help=f"exit 1 when {DOC.name} is stale")
    a = ap.parse_args(argv)
    text = render(app_spec())
    if a.write:
        DOC.write_text(text, encoding="utf-8")
    elif a.check:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is stale: run python -m api.reference_doc --write", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
