"""Fixtures for the validation tests: a manifest of photos drawn here."""

import pytest


@pytest.fixture
def write_manifest(tmp_path):
    """``write(rows, draw, extra=())``: draw each ``(name, label, value)`` row's photo with
    ``draw(path, value, seed)`` under tmp_path, list them (then the ``extra`` CSV lines) in
    tmp_path/m.csv, and return its path."""

    def write(rows, draw, extra=()):
        lines = ["path,label,source"]
        for k, (name, label, value) in enumerate(rows):
            draw(tmp_path / name, value, k)
            lines.append(f"{name},{label},test")
        (tmp_path / "m.csv").write_text("\n".join([*lines, *extra]) + "\n")
        return tmp_path / "m.csv"

    return write
