package com.jitteredge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class VerdictTest {
    @Test
    public void roundsLikePython() {
        assertEquals(0.12, PyMath.round(0.125, 2), 0.0);  // exact tie: half to even
        assertEquals(2.67, PyMath.round(2.675, 2), 0.0);  // 2.675 is stored just below
        assertEquals(0.0, PyMath.round(0.5, 0), 0.0);
        assertEquals(2.0, PyMath.round(1.5, 0), 0.0);
        assertEquals(1.0001, PyMath.round(1.00005, 4), 0.0);
    }

    @Test
    public void modTakesTheSignOfTheDivisorLikePython() {
        assertEquals(172.5, PyMath.mod(-7.5, 180.0), 0.0);
        assertEquals(5.0, PyMath.mod(185.0, 180.0), 0.0);
        assertEquals(Double.doubleToLongBits(0.0), Double.doubleToLongBits(PyMath.mod(-0.0, 180.0)));
    }

    @Test
    public void sumsPairwiseLikeNumpy() {
        double[] a = new double[300];
        double sequential = 0.0;
        for (int i = 0; i < a.length; i++) {
            a[i] = 0.1 * (i % 7) + 1e-3 * i;
            sequential += a[i];
        }
        assertEquals(134.55, PyMath.pairwiseSum(a, 0, a.length), 0.0);  // float(np.sum(a))
        assertEquals(134.55000000000007, sequential, 0.0);  // what a plain loop would give
    }

    @Test
    public void quantileInterpolatesLikeNumpy() {
        assertEquals(8.799999999999999, PyMath.quantileLinear(new double[] {1, 2, 3, 4, 10}, 5, 0.95), 0.0);
        double[] powers = new double[21];
        for (int i = 0; i < powers.length; i++) {
            powers[i] = Math.pow(i, 1.5);
        }
        assertEquals(82.8190799272728, PyMath.quantileLinear(powers, 21, 0.95), 1e-12);
        assertEquals(7.0, PyMath.quantileLinear(new double[] {7}, 1, 0.95), 0.0);
    }

    @Test
    public void steadyFieldIsNotShaken() {
        JitterField f = new JitterField(8, 8);
        java.util.Arrays.fill(f.u, 1.5f);
        Verdict v = Verdict.judge(f, 2.0);
        assertFalse(v.shaken);
        assertEquals(0.375, v.score, 0.0);
        assertEquals(0.0, v.shakenFraction, 0.0);
        assertEquals(0.0, v.blurPx, 0.0);
        assertEquals(0.0, v.directionDeg, 0.0);
    }

    @Test
    public void uniformShakeGivesLengthAndDirectionInInputPixels() {
        JitterField f = new JitterField(4, 5);
        java.util.Arrays.fill(f.u, 3f);
        java.util.Arrays.fill(f.v, -3f);  // 45 degrees up-right in y-down coordinates: 135 deg
        Verdict v = Verdict.judge(f, 2.0);
        assertTrue(v.shaken);
        assertEquals(1.0, v.score, 0.0);
        assertEquals(1.0, v.shakenFraction, 0.0);
        assertEquals(PyMath.round(Math.hypot(3, 3) * 2.0, 3), v.blurPx, 0.0);
        assertEquals(135.0, v.directionDeg, 0.0);
    }

    @Test
    public void displayDirectionFollowsTheScreenRotation() {
        assertEquals(90.0, Verdict.displayDirectionDeg(0.0, 90), 0.0);
        assertEquals(45.0, Verdict.displayDirectionDeg(135.0, 90), 0.0);
        assertEquals(135.0, Verdict.displayDirectionDeg(135.0, 180), 0.0);
    }

    @Test
    public void emptyFieldsCannotBeMade() {
        assertThrows(IllegalArgumentException.class, () -> new JitterField(0, 4));
    }
}
