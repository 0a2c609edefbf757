"""Command line: one subcommand per verb. Arguments only; each verb lives in jitteredge/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

from jitteredge import __version__

# verb -> module in jitteredge.commands exposing HELP, add_args(parser) and run(args) -> int.
COMMANDS = ("synth", "train", "analyze", "eval", "export", "bench", "deblur")


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" only where it tells something: not for None (a verb's config or
    documented fallback decides), not for on/off flags, and not where the help already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.nargs == 0 or "default" in text.lower():
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jitteredge", description="Detect and map camera shake in photos.")
    parser.add_argument("--version", action="version", version=f"jitteredge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"jitteredge.commands.{name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP,
                           formatter_class=_DefaultsFormatter)
        module.add_args(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from jitteredge.errors import JitterEdgeError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except JitterEdgeError as exc:
        print(f"jitteredge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"jitteredge {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
