"""Tooling that builds the reason reader: the corpus splits and the model (never packaged)."""
