"""The repository root and unique readable ids, for every test package."""

from __future__ import annotations

import uuid
from pathlib import Path


def uid(prefix: str = "id") -> str:
    """A unique readable id for objects created by a test."""
    return f"{prefix}-{uuid.uuid4()}"


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
