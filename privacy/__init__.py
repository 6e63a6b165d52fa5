"""Federated aggregate queries: SQL to plan, secure aggregation over provider nodes, DP noise."""
