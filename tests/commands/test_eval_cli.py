"""`jitteredge eval` through the command line: table on stdout, files in --out, bad options as one line."""

from __future__ import annotations

import json

import pytest

from jitteredge import cli


@pytest.fixture(autouse=True)
def eval_verb_only(monkeypatch):
    """Test the verb through cli.main without importing the other verbs' modules."""
    monkeypatch.setattr(cli, "COMMANDS", ("eval",))


def test_eval_cli(checkpoint, tmp_path, capsys):
    out = tmp_path / "ev"
    rc = cli.main(["eval", "--model", str(checkpoint), "--source", "procedural", "--n", "1", "--size", "32",
                   "--groups", "sharp", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "| sharp | cepstrum |" in captured.out
    assert json.loads((out / "eval.json").read_text())["n_per_group"] == 1


@pytest.mark.parametrize("bad, word", [(["--groups", "wobbly"], "wobbly"), (["--groups", ","], "no eval group"),
                                       (["--groups", "sharp,sharp"], "once"), (["--size", "0"], "--size 0"),
                                       (["--size", "-3"], "--size -3"), (["--n", "0"], "--n 0"),
                                       (["--threads", "0"], "--threads 0")])
def test_bad_options_are_one_line_and_exit_2(checkpoint, tmp_path, capsys, bad, word):
    out = tmp_path / "ev"
    rc = cli.main(["eval", "--model", str(checkpoint), "--source", "procedural", "--out", str(out), *bad])
    err = capsys.readouterr().err
    assert rc == 2 and word in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before anything was written


def test_unwritable_out_is_refused_before_the_work(checkpoint, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out, word in ((blocker / "ev", "cannot write"), (blocker, "not a folder")):
        rc = cli.main(["eval", "--model", str(checkpoint), "--source", "procedural", "--n", "1", "--size", "32",
                       "--groups", "sharp", "--out", str(out)])
        captured = capsys.readouterr()
        assert rc == 2 and word in captured.err and len(captured.err.strip().splitlines()) == 1
        assert captured.out == ""  # no table: nothing was measured
