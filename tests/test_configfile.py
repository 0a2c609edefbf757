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
