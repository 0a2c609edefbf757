"""Short reasons for rows that cannot run: an exception's first line, and whether a module imports.
Used by every module that turns a missing library or a failure into a row's reason."""

from __future__ import annotations

from jitteredge.errors import first_line


def import_reason(module: str) -> str | None:
    """None when ``module`` imports, else "not importable (<why>)"."""
    try:
        __import__(module)
    except Exception as exc:  # ImportError, or a broken native library (OSError)
        return f"not importable ({first_line(exc)})"
    return None
