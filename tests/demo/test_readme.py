"""The README's configuration table is the one generated from `api/settings.py`."""

from __future__ import annotations

from api.settings_doc import reference_table
from tests.utils.common import repo_root


def test_readme_configuration_table_matches_the_settings() -> None:
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    assert reference_table() in readme, "regenerate with `python -m api.settings_doc`"
