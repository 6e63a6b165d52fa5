"""Provider node: holds raw data in a local DuckDB database, answers only protocol rounds (`privacy.provider.app`).
Nothing is imported here, so the node's policy and plan modules load without the web server."""
