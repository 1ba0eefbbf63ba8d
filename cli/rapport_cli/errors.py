"""Errors the CLI reports as one readable line instead of a traceback."""


class UserError(Exception):
    """Something the person running the command can fix (a missing file, a bad flag value)."""
