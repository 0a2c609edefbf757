"""The deblur quality comparison's photo source: the validation photos, never training's."""

from __future__ import annotations

import numpy as np
import pytest

from jitteredge.deblurring.quality import _open_source
from jitteredge.errors import JitterEdgeError
from jitteredge.synth.sources import open_source
from jitteredge.validation.synthetic import PROCEDURAL_FAMILY


def test_procedural_photos_are_the_validation_family_not_trainings():
    source, name = _open_source("procedural", seed=0)
    assert name == "procedural"
    photo = source.load(0)
    np.testing.assert_array_equal(photo, open_source("procedural", seed=PROCEDURAL_FAMILY).load(0))
    assert not np.array_equal(photo, open_source("procedural", seed=0).load(0))  # training draws family 0


def test_missing_bsds500_falls_back_to_validation_procedural(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("JITTEREDGE_BSDS500", str(tmp_path / "absent"))
    source, name = _open_source("bsds500:test", seed=0)
    assert name == "procedural" and "procedural" in capsys.readouterr().err
    np.testing.assert_array_equal(source.load(0), open_source("procedural", seed=PROCEDURAL_FAMILY).load(0))


def test_a_missing_folder_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(JitterEdgeError):
        _open_source(str(tmp_path / "no_such_folder"), seed=0)
