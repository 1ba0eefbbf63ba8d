"""Command line and local runtime for Rapport (not packaged into Lambda)."""
