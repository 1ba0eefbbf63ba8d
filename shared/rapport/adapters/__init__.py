"""Adapters between the pure core and AWS services."""
