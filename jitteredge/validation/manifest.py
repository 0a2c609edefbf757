"""A manifest of labelled real photos: ``path,label[,source]`` CSV, paths relative to the manifest.

Labels: ``shake`` (camera shake), ``sharp``, ``defocus`` (bokeh, shallow depth of field). A row
that cannot be used (unknown label, missing photo, empty path) is reported as one line and left out;
the run goes on with the rest. A manifest that is not such a CSV is an error (JitterEdgeError); the
caller decides what an empty list of photos means.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from jitteredge.configfile import read_text_file
from jitteredge.errors import JitterEdgeError

LABELS = ("shake", "sharp", "defocus")
POSITIVE = "shake"  # the other labels are negatives: a shake detector must not flag them
TOP_FOLDER = "."  # the folder of photos listed without one


@dataclass(frozen=True)
class Photo:
    path: Path  # resolved against the manifest's folder
    label: str  # one of LABELS
    folder: str  # first component of the path as written (TOP_FOLDER for a bare file name)
    name: str  # the path as written in the manifest
    source: str = ""


def folder_of(written: str) -> str:
    """First component of a manifest path ("kohler/im1.png" -> "kohler", "a.png" -> ".")."""
    parts = Path(written).parts
    if Path(written).is_absolute():
        parts = parts[1:]
    return parts[0] if len(parts) > 1 else TOP_FOLDER


def read_manifest(manifest: str | os.PathLike) -> tuple[list[Photo], list[str]]:
    """Read a manifest.

    Returns:
        (usable photos in manifest order, one line per row left out).

    Raises:
        JitterEdgeError: the file is missing, unreadable, or has no ``path`` and ``label`` columns.
    """
    p = Path(manifest)
    text = read_text_file(p, "manifest")
    reader = csv.DictReader(text.splitlines())
    try:
        # reader.line_num after each row: its line in the file (blank lines and quoted line breaks counted)
        rows = [(raw, reader.line_num) for raw in reader]
    except csv.Error as exc:
        raise JitterEdgeError(f"{p}: not a CSV file ({exc})") from None
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "path" not in header or "label" not in header:
        raise JitterEdgeError(f"{p}: needs a header line with 'path' and 'label' columns "
                              f"(path,label[,source]), found {','.join(header) or 'none'}")
    photos: list[Photo] = []
    problems: list[str] = []
    for raw, line_no in rows:
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        written, label = row.get("path", ""), row.get("label", "").lower()
        if not written:
            problems.append(f"{p}:{line_no}: no path")
            continue
        if label not in LABELS:
            problems.append(f"{p}:{line_no}: {written}: unknown label {row.get('label', '')!r} "
                            f"(expected {', '.join(LABELS)})")
            continue
        path = Path(written) if Path(written).is_absolute() else p.parent / written
        if not path.is_file():
            problems.append(f"{p}:{line_no}: {written}: no such photo")
            continue
        photos.append(Photo(path=path, label=label, folder=folder_of(written), name=written,
                            source=row.get("source", "")))
    return photos, problems
