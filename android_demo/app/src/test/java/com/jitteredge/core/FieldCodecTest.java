package com.jitteredge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class FieldCodecTest {
    /** fieldcode.encode_field for one vector, channels-first into a 1x1 code. */
    private static float[] encode(double u, double v) {
        double r = Math.hypot(u, v);
        double safe = r > 0 ? r : 1.0;
        return new float[] {(float) ((u * u - v * v) / safe / FieldCodec.CODE_SCALE_PX),
            (float) (2.0 * u * v / safe / FieldCodec.CODE_SCALE_PX)};
    }

    @Test
    public void decodesEitherSignToTheRepresentativeWithPositiveU() {
        double[][] vectors = {{3, 4}, {-3, -4}, {5, -1}, {-5, 1}, {0.25, 0}, {0, 7}, {0, -7}};
        for (double[] m : vectors) {
            JitterField f = FieldCodec.decode(encode(m[0], m[1]), 1, 1, 1, 1, FieldCodec.CODE_SCALE_PX);
            double sign = (m[0] < 0 || (m[0] == 0 && m[1] < 0)) ? -1 : 1;
            String what = m[0] + "," + m[1];
            assertTrue(what, f.u[0] >= 0);
            assertEquals(what, sign * m[0], f.u[0], 1e-5);
            assertEquals(what, Math.abs(sign * m[1]), Math.abs(f.v[0]), 1e-5);
            assertEquals(what, Math.hypot(m[0], m[1]), f.lengthAt(0, 0), 1e-5);
        }
    }

    @Test
    public void zeroCodeIsZeroField() {
        JitterField f = FieldCodec.decode(new float[8], 2, 2, 2, 2, FieldCodec.CODE_SCALE_PX);
        for (int i = 0; i < 4; i++) {
            assertEquals(0f, f.u[i], 0f);
            assertEquals(0f, f.v[i], 0f);
        }
    }

    @Test
    public void cropsTheTopLeftCorner() {
        // (2, 2, 3) code; only the 1 x 2 corner is kept.
        float[] code = new float[12];
        code[1] = 1f;  // channel 0, row 0, column 1: U = 8, V = 0
        JitterField f = FieldCodec.decode(code, 2, 3, 1, 2, FieldCodec.CODE_SCALE_PX);
        assertEquals(0f, f.u[0], 0f);
        assertEquals(8f, f.u[1], 1e-6f);
        assertEquals(0f, f.v[1], 1e-6f);
    }

    @Test
    public void refusesAFieldLargerThanTheCode() {
        assertThrows(IllegalArgumentException.class,
                () -> FieldCodec.decode(new float[8], 2, 2, 3, 2, FieldCodec.CODE_SCALE_PX));
    }
}
