"""Provex registry package."""
