"""Provex ledger package."""
