"""deblur on a large photo: seconds, and the same in units of one blur of the photo.

Target (issue: 12 MP in <= 60 s on our 2 cores at the default settings). The absolute time depends on
the host and on the blur length, so the run records both the seconds and the ratio to one
``apply_field`` of the same photo measured in the same run, and checks the 60 s only with
--benchmark-enable (without it: a smoke run at 0.3 MP). One tile solved by the fused Numba RL-TV is
also timed against the NumPy formulation of the same iterations (same numbers, ``tests/deblur``).
"""

from __future__ import annotations

import pytest

from benchmarks.conftest import timing_enabled

TARGET_12MP_S = 60.0


@pytest.mark.parametrize("median_blur_px", [10.0, 20.0])
def test_deblur_12mp(request, record_ratio, median_blur_px):
    from jitteredge.deblurring.speed import measure_deblur_speed

    timed = timing_enabled(request.config)
    result = measure_deblur_speed(12.0 if timed else 0.3, median_blur_px)
    assert result["operator_applications"] > 0
    record_ratio(f"deblur {result['size']}, median blur {median_blur_px:g} px: seconds", result["deblur_s"],
                 TARGET_12MP_S if timed else None,
                 f"{result['deblur_over_blur']}x one blur of the photo; {result['deblur_cpu_s']} CPU s")
    if timed:
        assert result["deblur_s"] <= TARGET_12MP_S, result


def test_fused_rl_tv_against_numpy(request, record_ratio):
    from jitteredge.deblurring.speed import measure_tile_solver_speed

    timed = timing_enabled(request.config)
    result = measure_tile_solver_speed(12.0 if timed else 0.3, 20.0)
    ratio = result["fused_s"] / max(result["numpy_s"], 1e-9)
    record_ratio(f"rl-tv tile {result['tile']}, {result['iterations']} iterations: fused / numpy seconds", ratio,
                 1.0 if timed else None,
                 f"{result['fused_s']} s ({result['fused_cpu_s']} CPU s) against {result['numpy_s']} s "
                 f"({result['numpy_cpu_s']} CPU s), {result['threads']} threads")
    if timed:
        assert ratio < 1.0, result
