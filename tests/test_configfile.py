"""Config files: the type check every verb applies to the values it reads."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from jitteredge.configfile import check_types
from jitteredge.errors import JitterEdgeError


@dataclass
class _Settings:
    runs: int = 5
    limit: float | None = None
    name: str = "x"
    fast: bool = True
    hw: tuple[int, int] | None = None
    sizes: tuple[str, ...] = ("256",)
    ladder: tuple[tuple[str, ...], ...] = ()


def test_values_of_the_right_type_pass():
    check_types(_Settings, {"runs": 3, "limit": 2, "name": "y", "fast": False, "hw": [16, 32],
                            "sizes": ("720p", "1080p"), "ladder": [["head"], []], "other": object()}, "f.yaml")
    check_types(_Settings, {"limit": None, "hw": None}, "f.yaml")


@pytest.mark.parametrize("key, value", [("runs", "3"), ("runs", 2.5), ("runs", True), ("limit", "abc"),
                                        ("name", 3), ("fast", 1), ("hw", [16]), ("hw", 16), ("hw", [16, "a"]),
                                        ("sizes", [256]), ("ladder", ["head"]), ("runs", None)])
def test_a_wrong_type_is_one_line_naming_the_key(key, value):
    with pytest.raises(JitterEdgeError) as info:
        check_types(_Settings, {key: value}, "f.yaml")
    message = str(info.value)
    assert message.startswith("f.yaml: " + key) and "\n" not in message


# -- build_config: the one way from defaults, a file and flags to a config ---------------------------
@dataclass
class _Inner:
    size_px: int = 256
    noise: bool = True


@dataclass
class _Outer:
    out_dir: str = "out"
    runs: int = 5
    sizes: tuple[str, ...] = ("256",)
    inner: _Inner = None  # type: ignore[assignment]
    checked: bool = False

    def validate(self, given=frozenset()):
        import dataclasses

        if self.runs < 1:
            raise JitterEdgeError(f"runs {self.runs}: must be at least 1")
        if "sizes" in given and self.runs == 99:
            raise JitterEdgeError("sizes given with runs 99")
        return dataclasses.replace(self, checked=True)


def test_build_config_file_then_flags_over_defaults(tmp_path):
    import argparse
    import json

    from jitteredge.configfile import build_config

    f = tmp_path / "c.json"
    f.write_text(json.dumps({"runs": 7, "sizes": ["512", "1080p"], "inner": {"size_px": 64}}))
    args = argparse.Namespace(out="elsewhere", runs=None, json=True, config=str(f))
    cfg = build_config(_Outer, args, f, renames={"out": "out_dir"})
    assert cfg.out_dir == "elsewhere" and cfg.runs == 7 and cfg.sizes == ("512", "1080p")
    assert cfg.inner == _Inner(size_px=64, noise=True) and cfg.checked  # validate's copy is returned
    cfg = build_config(_Outer, {"runs": 3}, f)
    assert cfg.runs == 3  # the flag given wins over the file
    assert build_config(_Outer, None, None).runs == 5  # defaults alone


@pytest.mark.parametrize("content, message", [
    ({"runz": 1}, "unknown things ['runz']"),
    ({"runs": "7"}, "runs must be int"),
    ({"inner": {"size_px": "big"}}, "inner: size_px must be int"),
    ({"inner": {"colour": 1}}, "inner: unknown things ['colour']"),
    ({"runs": 0}, "runs 0: must be at least 1"),
])
def test_build_config_refuses_with_one_line(tmp_path, content, message):
    import json

    from jitteredge.configfile import build_config

    f = tmp_path / "c.json"
    f.write_text(json.dumps(content))
    with pytest.raises(JitterEdgeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_config(_Outer, {}, f, what="things")


def test_build_config_tells_validate_which_fields_flags_set(tmp_path):
    import json

    from jitteredge.configfile import build_config

    f = tmp_path / "c.json"
    f.write_text(json.dumps({"runs": 99, "sizes": ["512"]}))
    assert build_config(_Outer, {}, f).sizes == ("512",)  # from the file: allowed
    with pytest.raises(JitterEdgeError, match="sizes given"):
        build_config(_Outer, {"sizes": ("512",)}, f)


def test_a_file_saved_with_a_bom_reads(tmp_path):
    from jitteredge.configfile import read_config_file

    path = tmp_path / "c.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"long_side": 256}')
    assert read_config_file(path) == {"long_side": 256}
