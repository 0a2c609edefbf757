"""Every verb's --help: shown defaults are real values, never "(default: None)" or said twice."""

from __future__ import annotations

import argparse

import pytest

from jitteredge.cli import COMMANDS, _DefaultsFormatter, build_parser, main


@pytest.mark.parametrize("verb", COMMANDS)
def test_help_shows_no_empty_defaults(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "(default: None)" not in text and "(default: False)" not in text


def _options():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for verb, parser in sub.choices.items():
        for action in parser._actions:
            if action.help and action.help is not argparse.SUPPRESS:
                yield verb, action


def test_a_help_that_names_its_default_gets_no_second_one():
    formatter = _DefaultsFormatter("jitteredge")
    checked = 0
    for verb, action in _options():
        shown = formatter._get_help_string(action)
        if "default" in action.help.lower():
            assert shown == action.help, (verb, action.dest)
            checked += 1
    assert checked > 5


def test_plain_defaults_are_still_shown(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 40)" in text  # --n: samples per group
