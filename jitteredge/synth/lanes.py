"""The blur kernel's inner sums, three colour channels at a time in one 4-wide SIMD register.

Numba leaves LLVM's SLP vectoriser off (it miscompiled code, numba#8852), so the three channels of a
pixel are otherwise summed with three scalar instructions each, and the blur kernel spends its time
issuing them. These helpers are written in LLVM IR through ``numba.extending.intrinsic``: each loads
a pixel's channels as one ``<4 x float>`` (the fourth lane is the next pixel's first channel, which is
never used, so a buffer needs one float of slack after its last pixel) and keeps its sums in a vector.

Addresses are flat float32 offsets into the padded image ``p``: ``smaj`` and ``smin`` are the strides
of the segment's major and minor axes (3 for a column, 3 W for a row). Positions along an axis that
a loop walks are 32.32 fixed point (``x_fix = x * 2**32``), so that a step is an integer add and the
cell and fraction come from a shift and a mask, with no float-to-int conversion per step.

With ``NUMBA_DISABLE_JIT=1`` the same sums run as plain Python (``_py`` functions), so that the
kernels stay covered by tests without the compiler.

Numba's on-disk cache keys a kernel on its own file only: after editing this one, delete blur.py's
cache (``find jitteredge -name 'blur.*.nb[ic]' -delete``) or the old sums are loaded again.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["FIX_ONE", "column_sum", "kink_sum", "cell_sum"]

FIX_ONE = 4294967296.0  # 2**32: one pixel in 32.32 fixed point
_FRACTION = 0xFFFFFFFF

_F32 = ir.FloatType()
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V4 = ir.VectorType(_F32, 4)
_SUMS = types.UniTuple(types.float32, 3)


# --- LLVM IR building blocks -------------------------------------------------------------------

def _load(builder, base, offset):
    """<4 x float> at flat offset ``offset`` of the float* ``base`` (unaligned)."""
    ptr = builder.gep(base, [offset], inbounds=True)
    return builder.load(builder.bitcast(ptr, _V4.as_pointer()), align=4)


def _splat(builder, x):
    """<4 x float> with every lane x."""
    v = builder.insert_element(ir.Constant(_V4, ir.Undefined), x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, ir.Constant(_V4, ir.Undefined), ir.Constant(ir.VectorType(_I32, 4), [0, 0, 0, 0]))


def _fma(builder, a, b, c):
    """a * b + c on <4 x float>, one rounding (llvm.fma)."""
    fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V4, [_V4] * 3), "llvm.fma.v4f32")
    return builder.call(fma, [a, b, c])


def _fixed_split(builder, x_fix):
    """(cell, fraction as float) of a non-negative 32.32 fixed-point position."""
    cell = builder.ashr(x_fix, ir.Constant(_I64, 32))
    frac = builder.sitofp(builder.and_(x_fix, ir.Constant(_I64, _FRACTION)), _F32)
    return cell, builder.fmul(frac, ir.Constant(_F32, 1.0 / FIX_ONE))


def _first_three(context, builder, vector):
    """The (float32, float32, float32) tuple of lanes 0..2."""
    lanes = [builder.extract_element(vector, ir.Constant(_I32, c)) for c in range(3)]
    return context.make_tuple(builder, _SUMS, lanes)


def _counted_loop(builder, n, inits, body):
    """Emit ``for _ in range(n)`` carrying the values ``inits`` through ``body(values) -> values``;
    return the values after the loop (the inits when n <= 0). ``body`` must not add blocks."""
    pre = builder.block
    loop = builder.function.append_basic_block("lanes.loop")
    done = builder.function.append_basic_block("lanes.done")
    builder.cbranch(builder.icmp_signed(">", n, ir.Constant(_I64, 0)), loop, done)
    builder.position_at_end(loop)
    count = builder.phi(_I64)
    values = [builder.phi(v.type) for v in inits]
    updated = body(values)
    count_next = builder.add(count, ir.Constant(_I64, 1))
    count.add_incoming(ir.Constant(_I64, 0), pre)
    count.add_incoming(count_next, loop)
    for phi, init, new in zip(values, inits, updated):
        phi.add_incoming(init, pre)
        phi.add_incoming(new, loop)
    builder.cbranch(builder.icmp_signed("<", count_next, n), loop, done)
    builder.position_at_end(done)
    out = []
    for init, new in zip(inits, updated):
        phi = builder.phi(init.type)
        phi.add_incoming(init, pre)
        phi.add_incoming(new, loop)
        out.append(phi)
    return out


def _data(context, builder, array_type, array):
    return context.make_array(array_type)(context, builder, array).data


def _typed(p, ints, floats) -> bool:
    """Whether the arguments are what the IR assumes: p a C-contiguous float32 vector, ints int64
    and floats float32 (anything else must fail typing, not emit ill-typed IR)."""
    return (isinstance(p, types.Array) and p.dtype == types.float32 and p.ndim == 1 and p.layout == "C"
            and all(isinstance(t, types.Integer) and t.bitwidth == 64 and t.signed for t in ints)
            and all(t == types.float32 for t in floats))


# --- the sums ----------------------------------------------------------------------------------

@intrinsic
def _column_sum(typingctx, p, i_maj, smaj, smin, b_fix, m_fix, n):
    """(s0, s1, s2): the sum over n grid columns of each column's linear interpolation.

    Column j (0..n-1) is at flat offset i_maj + j smaj, its minor coordinate b_j = (b_fix + j m_fix)
    / 2**32 px in cell row r = floor(b_j) at fraction f: it adds p[o] + f (p[o + smin] - p[o]), with
    o = r smin + i_maj + j smaj. Offsets and positions are int64, b_fix + j m_fix >= 0.
    """
    if not _typed(p, (i_maj, smaj, smin, b_fix, m_fix, n), ()):
        return None
    sig = _SUMS(p, i_maj, smaj, smin, b_fix, m_fix, n)

    def codegen(context, builder, signature, args):
        base = _data(context, builder, signature.args[0], args[0])
        i_maj0, smaj_, smin_, b_fix0, m_fix_, n_ = args[1:]

        def step(values):
            acc, b, i = values
            row, f = _fixed_split(builder, b)
            i0 = builder.add(builder.mul(row, smin_), i)
            v0 = _load(builder, base, i0)
            v1 = _load(builder, base, builder.add(i0, smin_))
            value = _fma(builder, _splat(builder, f), builder.fsub(v1, v0), v0)
            return [builder.fadd(acc, value), builder.add(b, m_fix_), builder.add(i, smaj_)]

        acc, _, _ = _counted_loop(builder, n_, [ir.Constant(_V4, [0.0] * 4), b_fix0, i_maj0], step)
        return _first_three(context, builder, acc)

    return sig, codegen


@intrinsic
def _kink_sum(typingctx, p, j0, dj, smaj, smin, a_fix, d_fix, n, am6):
    """(s0, s1, s2): the kink corrections of n row lines crossed (blur.py's step 3).

    Crossing i lies at major coordinate a_i = (a_fix + i d_fix) / 2**32 px, in strip k = floor(a_i)
    at sigma = frac(a_i); j0 + i dj is the flat offset of the row above that row line in grid column
    0. It adds am6 ((1 - sigma)^3 q_k + sigma^3 q_{k+1}), q_k being the second difference of grid
    column k across the line (the rows above, on and below it).
    """
    if not _typed(p, (j0, dj, smaj, smin, a_fix, d_fix, n), (am6,)):
        return None
    sig = _SUMS(p, j0, dj, smaj, smin, a_fix, d_fix, n, am6)

    def codegen(context, builder, signature, args):
        base = _data(context, builder, signature.args[0], args[0])
        j00, dj_, smaj_, smin_, a_fix0, d_fix_, n_, am6_ = args[1:]
        two = ir.Constant(_V4, [2.0] * 4)

        def second_difference(offset):
            above = _load(builder, base, offset)
            at = _load(builder, base, builder.add(offset, smin_))
            below = _load(builder, base, builder.add(offset, builder.add(smin_, smin_)))
            return builder.fadd(builder.fsub(above, builder.fmul(two, at)), below)

        def step(values):
            acc, a, j = values
            k, sigma = _fixed_split(builder, a)
            rest = builder.fsub(ir.Constant(_F32, 1.0), sigma)
            g = builder.fmul(am6_, builder.fmul(rest, builder.fmul(rest, rest)))
            h = builder.fmul(am6_, builder.fmul(sigma, builder.fmul(sigma, sigma)))
            jk = builder.add(j, builder.mul(k, smaj_))
            q_k = second_difference(jk)
            q_k1 = second_difference(builder.add(jk, smaj_))
            # one add on the loop-carried sum (two chained FMAs there would cost twice the latency)
            kinks = _fma(builder, _splat(builder, g), q_k, builder.fmul(_splat(builder, h), q_k1))
            return [builder.fadd(acc, kinks), builder.add(a, d_fix_), builder.add(j, dj_)]

        acc, _, _ = _counted_loop(builder, n_, [ir.Constant(_V4, [0.0] * 4), a_fix0, j00], step)
        return _first_three(context, builder, acc)

    return sig, codegen


@intrinsic
def _cell_sum(typingctx, p, b00, smaj, smin, w00, w10, w01, w11):
    """(s0, s1, s2) = w00 p[b00] + w10 p[b00 + smaj] + w01 p[b00 + smin] + w11 p[b00 + smaj + smin]."""
    if not _typed(p, (b00, smaj, smin), (w00, w10, w01, w11)):
        return None
    sig = _SUMS(p, b00, smaj, smin, w00, w10, w01, w11)

    def codegen(context, builder, signature, args):
        base = _data(context, builder, signature.args[0], args[0])
        b00_, smaj_, smin_, w00_, w10_, w01_, w11_ = args[1:]
        b10 = builder.add(b00_, smaj_)
        total = builder.fmul(_splat(builder, w00_), _load(builder, base, b00_))
        total = _fma(builder, _splat(builder, w10_), _load(builder, base, b10), total)
        total = _fma(builder, _splat(builder, w01_), _load(builder, base, builder.add(b00_, smin_)), total)
        total = _fma(builder, _splat(builder, w11_), _load(builder, base, builder.add(b10, smin_)), total)
        return _first_three(context, builder, total)

    return sig, codegen


# --- plain Python versions (NUMBA_DISABLE_JIT=1) -----------------------------------------------

def _split_py(x_fix):
    return x_fix >> 32, np.float32(np.float32(x_fix & _FRACTION) * np.float32(1.0 / FIX_ONE))


def _column_sum_py(p, i_maj, smaj, smin, b_fix, m_fix, n):
    s = np.zeros(3, np.float32)
    for _ in range(n):
        row, f = _split_py(b_fix)
        i0 = row * smin + i_maj
        s += p[i0:i0 + 3] + f * (p[i0 + smin:i0 + smin + 3] - p[i0:i0 + 3])
        b_fix += m_fix
        i_maj += smaj
    return s[0], s[1], s[2]


def _kink_sum_py(p, j0, dj, smaj, smin, a_fix, d_fix, n, am6):
    s = np.zeros(3, np.float32)
    for _ in range(n):
        k, sigma = _split_py(a_fix)
        jk = j0 + k * smaj
        for col, weight in ((jk, am6 * (1 - sigma) ** 3), (jk + smaj, am6 * sigma ** 3)):
            q = p[col:col + 3] - 2 * p[col + smin:col + smin + 3] + p[col + 2 * smin:col + 2 * smin + 3]
            s += np.float32(weight) * q
        a_fix += d_fix
        j0 += dj
    return s[0], s[1], s[2]


def _cell_sum_py(p, b00, smaj, smin, w00, w10, w01, w11):
    s = np.zeros(3, np.float32)
    for offset, weight in ((b00, w00), (b00 + smaj, w10), (b00 + smin, w01), (b00 + smaj + smin, w11)):
        s += np.float32(weight) * p[offset:offset + 3]
    return s[0], s[1], s[2]


if numba.config.DISABLE_JIT:
    column_sum, kink_sum, cell_sum = _column_sum_py, _kink_sum_py, _cell_sum_py
else:
    column_sum, kink_sum, cell_sum = _column_sum, _kink_sum, _cell_sum
