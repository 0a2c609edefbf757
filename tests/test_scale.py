"""The verdict does not depend on the working size: a photo analysed at a larger --long-side is judged
at infer.VERDICT_LONG_SIDE, and the written field takes that size's reading where the larger size reads
a long blur short."""

import numpy as np
import pytest

from jitteredge.fieldcode import encode_field
from jitteredge.infer import VERDICT_LONG_SIDE, predict_field
from jitteredge.runners import Runner

PHOTO_W, PHOTO_H = 2048, 1536


class SaturatingRunner(Runner):
    """Reads a horizontal blur of ``blur_input_px`` photo pixels, as a network that cannot see blurs
    longer than ``max_working_px`` working pixels would: min(blur / scale, max_working_px)."""

    name, precision = "saturating", "fp32"

    def __init__(self, blur_input_px: float, max_working_px: float = 6.0):
        super().__init__()
        self.blur_input_px, self.max_working_px = blur_input_px, max_working_px

    def activate_impl(self) -> None:
        pass

    def deactivate_impl(self) -> None:
        pass

    def infer_impl(self, x: np.ndarray) -> np.ndarray:
        scale = PHOTO_W / x.shape[3]
        reading = min(self.blur_input_px / scale, self.max_working_px)
        field = np.zeros(x.shape[2:] + (2,), np.float32)
        field[..., 0] = reading
        return encode_field(field, self.code_scale_px).transpose(2, 0, 1)[None]


@pytest.fixture(scope="module")
def photo():
    return np.random.default_rng(0).integers(0, 256, (PHOTO_H, PHOTO_W, 3), dtype=np.uint8)  # detail everywhere


@pytest.mark.parametrize("blur_input_px", [24.0, 3.0])
def test_the_verdict_is_the_same_at_every_long_side(photo, blur_input_px):
    with SaturatingRunner(blur_input_px) as runner:
        verdicts = {side: predict_field(runner, photo, side).verdict() for side in (VERDICT_LONG_SIDE, 1024, 2048)}
    first = verdicts[VERDICT_LONG_SIDE]
    assert first.shaken == (blur_input_px / (PHOTO_W / VERDICT_LONG_SIDE) > 2.0)
    for side, v in verdicts.items():
        assert (v.shaken, v.score, v.blur_px) == (first.shaken, first.score, first.blur_px), side


def test_the_field_takes_the_long_blur_the_larger_size_reads_short(photo):
    with SaturatingRunner(24.0) as runner:
        pred = predict_field(runner, photo, 2048)
    assert pred.judged is not None and pred.judged.size.width == VERDICT_LONG_SIDE
    assert np.median(pred.field_working_px[..., 0]) == pytest.approx(6.0, abs=0.05)  # read short at 2048
    assert np.median(np.abs(pred.field_input_px[..., 0])) == pytest.approx(24.0, rel=0.02)  # the 512 reading


def test_the_field_keeps_a_short_blur_the_larger_size_sees(photo):
    with SaturatingRunner(3.0) as runner:
        pred = predict_field(runner, photo, 2048)
    assert np.median(np.abs(pred.field_input_px[..., 0])) == pytest.approx(3.0, rel=0.02)


def test_no_second_pass_at_or_below_the_verdict_size(photo):
    with SaturatingRunner(24.0) as runner:
        assert predict_field(runner, photo, VERDICT_LONG_SIDE).judged is None
        assert predict_field(runner, photo[:300, :400], 2048).judged is None  # a small photo: its own size
