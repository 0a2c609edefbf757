"""The deployment docs describe the files the commands write: a uint8-activation INT8 ONNX (what
`export --int8` writes for ONNX Runtime) is never offered to TensorRT, which refuses it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", REPO / "benchmarks" / "README.md", REPO / "export" / "README.md"]


def _export_lines(text: str):
    """(argv, comment) of every `jitteredge export` command line in the text."""
    for line in text.splitlines():
        code, _, comment = line.partition("#")
        if "jitteredge export" not in code or "`" in code:
            continue
        argv = shlex.split(code[code.index("jitteredge export"):])
        yield argv, comment


def _uint8_int8(argv: list[str]) -> bool:
    """Does this export write uint8 activations (ONNX Runtime only)?"""
    if "--int8" not in argv:
        return False
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "onnx"
    acts = argv[argv.index("--int8-activations") + 1] if "--int8-activations" in argv else "auto"
    return acts == "uint8" or (acts == "auto" and fmt in ("onnx", "ort", "mobile"))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_uint8_int8_files_are_not_offered_to_tensorrt(doc):
    text = doc.read_text()
    uint8_files = set()
    for argv, comment in _export_lines(text):
        if not _uint8_int8(argv):
            continue
        if "TensorRT" in comment:
            assert re.search(r"refuse|not for TensorRT|ONNX Runtime only", comment), (doc, argv, comment)
        if "--out" in argv:
            uint8_files.add(argv[argv.index("--out") + 1])
    for name in re.findall(r"trtexec\S*\s+--onnx=(\S+)", text):
        assert name not in uint8_files, f"{doc}: trtexec is given {name}, a uint8-activation file TensorRT refuses"
    for argv, _ in _export_lines(text):
        if "engine" in argv and argv[2:3] and argv[2] in uint8_files:
            raise AssertionError(f"{doc}: {' '.join(argv)} builds an engine from a uint8-activation file")
