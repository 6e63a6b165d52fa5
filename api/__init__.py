"""Provex api package."""
