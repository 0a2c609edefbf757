"""manifest: usable rows kept in order, each bad row one line, a broken file one error."""

from __future__ import annotations

import pytest

from jitteredge.errors import JitterEdgeError
from jitteredge.validation.manifest import folder_of, read_manifest


def test_rows_and_problems(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(b"anything")
    (tmp_path / "y.jpg").write_bytes(b"anything")
    (tmp_path / "m.csv").write_text("path,label,source\n"
                                    "a/x.png,shake,somewhere\n"
                                    "y.jpg, SHARP ,\n"
                                    "a/gone.png,sharp,\n"
                                    "a/x.png,motion,\n"
                                    ",shake,\n")
    photos, problems = read_manifest(tmp_path / "m.csv")
    assert [(p.name, p.label, p.folder) for p in photos] == [("a/x.png", "shake", "a"), ("y.jpg", "sharp", ".")]
    assert photos[0].path == tmp_path / "a" / "x.png" and photos[0].source == "somewhere"
    assert len(problems) == 3
    assert "a/gone.png: no such photo" in problems[0] and ":4:" in problems[0]
    assert "unknown label 'motion'" in problems[1]
    assert "no path" in problems[2]


@pytest.mark.parametrize("text, word", [("file,kind\nx.png,shake\n", "'path' and 'label'"), ("", "'path' and 'label'")])
def test_bad_header_is_an_error(tmp_path, text, word):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(JitterEdgeError, match=word):
        read_manifest(tmp_path / "m.csv")


def test_missing_manifest(tmp_path):
    with pytest.raises(JitterEdgeError, match="no such manifest"):
        read_manifest(tmp_path / "nope.csv")


def test_folder_of():
    assert folder_of("kohler/a/b.png") == "kohler" and folder_of("b.png") == "." and folder_of("/x/y/z.png") == "x"


def test_problem_lines_name_the_file_line_past_blank_lines(tmp_path):
    (tmp_path / "m.csv").write_text("path,label\n\nx.png,sharp\n\n\ny.png,blurry\n")
    _, problems = read_manifest(tmp_path / "m.csv")
    assert [line.split(":")[1] for line in problems] == ["3", "6"]
