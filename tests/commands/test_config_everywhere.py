"""`--config FILE` on every verb, through the one configfile.build_config: file values, then flags, over
the dataclass defaults."""

from __future__ import annotations

import argparse
import importlib
import json

import pytest



def _parser(verb: str):
    module = importlib.import_module(f"jitteredge.commands.{verb}")
    parser = argparse.ArgumentParser()
    module.add_args(parser)
    return module, parser


@pytest.mark.parametrize("verb", ("synth", "train", "analyze", "eval", "export", "bench"))
def test_every_verb_takes_a_config_file(verb):
    _, parser = _parser(verb)
    assert "--config" in parser._option_string_actions


def _file(tmp_path, values: dict) -> str:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(values))
    return str(path)


def test_eval_config_then_flags(tmp_path):
    module, parser = _parser("eval")
    f = _file(tmp_path, {"n": 3, "groups": ["sharp", "mild"], "seed": 4})
    cfg = module.build_config(parser.parse_args(["--config", f, "--seed", "5"]))
    assert cfg.n == 3 and cfg.groups == ("sharp", "mild") and cfg.seed == 5 and cfg.out_dir == "jitteredge_eval"
    bad = _file(tmp_path, {"nn": 3})
    with pytest.raises(Exception, match="unknown eval settings"):
        module.build_config(parser.parse_args(["--config", bad]))


def test_synth_config_then_flags_reach_the_sample_config(tmp_path):
    module, parser = _parser("synth")
    f = _file(tmp_path, {"per_image": 2, "sample": {"size_px": 32, "jpeg": False}})
    cfg = module.build_config(parser.parse_args(["procedural", "--out", "o", "--config", f, "--size", "48"]))
    assert cfg.per_image == 2 and cfg.sample.size_px == 48 and cfg.sample.jpeg is False and cfg.out_dir == "o"
    flat = _file(tmp_path, {"size_px": 40, "jpeg": False})  # SampleConfig fields at the top level
    cfg = module.build_config(parser.parse_args(["procedural", "--out", "o", "--config", flat, "--no-noise"]))
    assert cfg.sample.size_px == 40 and not cfg.sample.jpeg and not cfg.sample.noise


def test_analyze_config_then_flags(tmp_path):
    module, parser = _parser("analyze")
    f = _file(tmp_path, {"write": ["picture"], "long_side": 64, "out_dir": "there"})
    cfg = module.build_config(parser.parse_args(["x.jpg", "--config", f, "--long-side", "32"]))
    assert cfg.write == ("picture",) and cfg.long_side == 32 and cfg.out_dir == "there"
    cfg = module.build_config(parser.parse_args(["x.jpg", "--config", f, "--no-write"]))
    assert cfg.writes == ()


@pytest.mark.parametrize("value, expected", [
    ("all", ("picture", "field", "full-field")),
    (["all"], ("picture", "field", "full-field")),
    ("none", ()),
    (["none"], ()),
    ([], ()),
    ("picture, full-field", ("picture", "full-field")),
    (["field"], ("field",)),
])
def test_analyze_config_write_takes_what_the_flag_takes(tmp_path, value, expected):
    """`write:` in a config file accepts the --write forms: all, none, a comma list, or a list."""
    module, parser = _parser("analyze")
    f = _file(tmp_path, {"write": value})
    assert module.build_config(parser.parse_args(["x.jpg", "--config", f])).write == expected
    flag = "none" if value in ([], ["none"]) else ",".join(value) if isinstance(value, list) else value
    assert module.build_config(parser.parse_args(["x.jpg", "--write", flag])).write == expected


def test_analyze_config_write_refuses_unknown_kinds(tmp_path):
    module, parser = _parser("analyze")
    for value in ("picture,flowz", ["flowz"], 3):
        f = _file(tmp_path, {"write": value})
        with pytest.raises(Exception, match="write"):
            module.build_config(parser.parse_args(["x.jpg", "--config", f]))


def _message(module, parser, argv) -> str:
    from jitteredge.errors import JitterEdgeError

    with pytest.raises(JitterEdgeError) as info:
        module.build_config(parser.parse_args(argv))
    return str(info.value)


def test_a_refused_value_from_the_file_names_the_file_not_the_flag(tmp_path):
    """validate's messages name the flag; a value that came from the config file is named by the file and key."""
    module, parser = _parser("analyze")
    f = _file(tmp_path, {"long_side": 0})
    assert _message(module, parser, ["x.jpg", "--config", f]) == f"{f}: long_side 0: must be at least 16 px"
    # the same value from the flag, over the file's: the flag is named
    assert _message(module, parser, ["x.jpg", "--config", f, "--long-side", "8"]).startswith("--long-side 8: ")
    f = _file(tmp_path, {"write": ["flowz"]})
    assert _message(module, parser, ["x.jpg", "--config", f]).startswith(f"{f}: write flowz: choose from ")


def test_a_refused_nested_value_from_the_file_names_its_key(tmp_path):
    module, parser = _parser("synth")
    for values in ({"sample": {"size_px": 8}}, {"size_px": 8}):  # under sample: or at the top level
        f = _file(tmp_path, values)
        message = _message(module, parser, ["procedural", "--out", "o", "--config", f])
        assert message == f"{f}: sample.size_px 8: must be at least 16 px"
    f = _file(tmp_path, {"per_image": 0})
    assert _message(module, parser, ["procedural", "--out", "o", "--config", f]) == \
        f"{f}: per_image must be at least 1, got 0"
    assert _message(module, parser, ["procedural", "--out", "o", "--size", "8"]).startswith("--size 8: ")


def test_a_refused_training_value_from_the_file_names_the_file(tmp_path):
    module, parser = _parser("train")
    f = _file(tmp_path, {"batch_size": 0})
    assert _message(module, parser, ["--out", str(tmp_path / "run"), "--config", f]) == \
        f"{f}: batch_size must be at least 1, got 0"


def test_a_refused_eval_value_from_the_file_names_the_file(tmp_path):
    module, parser = _parser("eval")
    f = _file(tmp_path, {"n": 0, "size_px": 8})
    assert _message(module, parser, ["--config", f, "--n", "2"]) == f"{f}: size_px 8: samples must be at least 32 px"
    assert _message(module, parser, ["--config", f, "--size", "64"]) == f"{f}: n 0: need at least one sample per group"
