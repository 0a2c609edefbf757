"""Helpers for the export tests (a module of its own: importing from conftest is fragile)."""

from __future__ import annotations

import argparse
import sys


def small(**overrides):
    """ExportConfig for 32 px images with a handful of calibration and gate images."""
    from jitteredge.export import ExportConfig

    values = dict(check_hw=(32, 32), calib_samples=4, gate_samples=4, progress=False)
    values.update(overrides)
    return ExportConfig(**values)


def run_cli(argv: list[str]) -> int:
    """`jitteredge export ARGV` as cli.main runs it (JitterEdgeError -> one line on stderr, exit 2)."""
    from jitteredge.commands import export as command
    from jitteredge.errors import JitterEdgeError

    parser = argparse.ArgumentParser(prog="jitteredge export")
    command.add_args(parser)
    args = parser.parse_args(argv)
    try:
        return command.run(args)
    except JitterEdgeError as exc:
        print(f"jitteredge export: error: {exc}", file=sys.stderr)
        return 2
