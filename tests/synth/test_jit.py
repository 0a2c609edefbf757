"""The Numba flags live in one place, synth/jit.py: every kernel module takes them from there."""

from jitteredge.synth import jit


def test_kernel_modules_share_one_set_of_flags():
    from jitteredge.synth import blur, degrade, paths

    assert paths._JIT is jit.SERIAL_KERNEL and degrade._JIT is jit.SERIAL_KERNEL
    assert blur._FASTMATH is jit.FASTMATH
    assert not {"nnan", "ninf"} & jit.FASTMATH  # NaN and inf checks stay valid
