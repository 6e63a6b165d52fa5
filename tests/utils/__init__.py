"""Helpers shared by the test packages: servers, builders, trading and query set-ups, the demo, drills."""
