"""Federated queries: runs, provider policies, provider nodes (orchestrates privacy/)."""
