"""docs/api-reference.md is the server's own OpenAPI, complete and current, and its example bodies are valid."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from api.app import create_app
from api.reference_doc import DOC, METHODS, app_spec, render
from api.settings import Settings

SPEC = app_spec()


def test_the_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(SPEC), "run: python -m api.reference_doc --write"


def test_every_operation_has_its_section() -> None:
    documented = set(re.findall(r"^### `([A-Z]+) (\S+)`$", DOC.read_text(encoding="utf-8"), re.M))
    operations = {(m.upper(), path) for path, ops in SPEC["paths"].items() for m in ops if m in METHODS}
    assert len(operations) > 100
    assert operations <= documented, sorted(operations - documented)


def _examples() -> list[tuple[str, Any, Any]]:
    """(route, body type, example) for every example a route's body schema gives."""
    out = []
    for ctx in iter_route_contexts(create_app(Settings.model_construct(env="prod")).routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute) or not route.dependant.body_params:
            continue
        annotation = route.dependant.body_params[0].field_info.annotation
        schema = TypeAdapter(annotation).json_schema()
        for example in schema.get("examples", ()):
            out.append((f"{sorted(ctx.methods or ())[0]} {ctx.path}", annotation, example))
    return out


EXAMPLES = _examples()


def test_there_are_examples_to_check() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize(("route", "annotation", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_each_example_body_is_valid_for_its_route(route: str, annotation: Any, example: Any) -> None:
    TypeAdapter(annotation).validate_python(example)
