"""Rapport: learn from the outcomes of networking connection requests."""
