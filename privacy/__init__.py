"""Provex privacy package."""
