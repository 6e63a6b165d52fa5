"""The configuration reference (README) generated from `api.settings.Settings`: `python -m api.settings_doc`."""

from __future__ import annotations

from api.settings import Settings
from ledger.toolchain import REPO_ROOT


def _default(value: object) -> str:
    text = str(getattr(value, "get_secret_value", lambda: value)())
    text = text.replace(str(REPO_ROOT), ".")
    return f"`{text}`" if text not in ("None", "") else "—"


def reference_table() -> str:
    """A Markdown table: variable, default, description — one row per `PROVEX_` setting."""
    rows = ["| variable | default | what |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        desc = (field.description or "").replace("<", "\\<")
        rows.append(f"| `PROVEX_{name.upper()}` | {_default(field.default)} | {desc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(reference_table())
