package com.jitteredge.core;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * The few NumPy and Python numerics whose exact behaviour the verdict and colours depend on.
 *
 * <p>Mirrors, operation for operation, what the Python package computes, so the golden vectors match
 * to the last bit wherever the platform's libm agrees.
 */
final class PyMath {
    /** {@code math.degrees} and {@code np.degrees} multiply by this constant (not by 180 then / pi). */
    static final double RAD_TO_DEG = 180.0 / Math.PI;

    /** NumPy's pairwise summation block (PW_BLOCKSIZE in loops_utils.h). */
    private static final int PAIRWISE_BLOCK = 128;

    private PyMath() {
    }

    /** Python's {@code x % m} for floats: the result takes the sign of {@code m}. */
    static double mod(double x, double m) {
        double r = x % m;  // C fmod
        if (r != 0.0) {
            if ((m < 0) != (r < 0)) {
                r += m;
            }
        } else {
            r = Math.copySign(0.0, m);
        }
        return r;
    }

    /** Python's {@code round(x, digits)}: the exact binary value rounded half to even. */
    static double round(double x, int digits) {
        if (Double.isNaN(x) || Double.isInfinite(x)) {
            return x;
        }
        return new BigDecimal(x).setScale(digits, RoundingMode.HALF_EVEN).doubleValue();
    }

    /**
     * {@code np.sum} of {@code a[0..n)} for float64: NumPy's pairwise summation, so the rounding matches.
     */
    static double pairwiseSum(double[] a, int from, int n) {
        if (n < 8) {
            double res = 0.0;
            for (int i = 0; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        if (n <= PAIRWISE_BLOCK) {
            double[] r = new double[8];
            System.arraycopy(a, from, r, 0, 8);
            int i = 8;
            for (; i < n - (n % 8); i += 8) {
                for (int j = 0; j < 8; j++) {
                    r[j] += a[from + i + j];
                }
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
    }

    /**
     * {@code np.quantile(values, q)} with the default "linear" method, on values already sorted.
     *
     * @param sorted ascending values; only the first {@code n} are used
     */
    static double quantileLinear(double[] sorted, int n, double q) {
        double virtualIndex = (n - 1) * q;
        if (virtualIndex >= n - 1) {
            return sorted[n - 1];
        }
        if (virtualIndex <= 0) {
            return sorted[0];
        }
        int previous = (int) Math.floor(virtualIndex);
        double gamma = virtualIndex - previous;
        double a = sorted[previous];
        double b = sorted[previous + 1];
        double diff = b - a;
        // NumPy's _lerp: from the nearer end, so gamma = 1 gives b exactly.
        return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
    }

    /** {@code np.median} of {@code sorted[from..from+n)}, already sorted ascending. */
    static double medianSorted(double[] sorted, int from, int n) {
        int mid = from + n / 2;
        if (n % 2 == 1) {
            return sorted[mid];
        }
        return (sorted[mid - 1] + sorted[mid]) / 2.0;
    }
}
