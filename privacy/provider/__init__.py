"""Provider node: holds raw data in a local DuckDB database, answers only protocol rounds."""

from privacy.provider.app import create_app, serve

__all__ = ["create_app", "serve"]
