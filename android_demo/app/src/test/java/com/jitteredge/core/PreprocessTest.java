package com.jitteredge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

public class PreprocessTest {
    @Test
    public void symmetricPaddingRepeatsLikeNumpy() {
        // np.pad(np.arange(4), (0, 13), mode="symmetric")
        int[] expected = {0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0};
        int[] got = new int[expected.length];
        for (int i = 0; i < got.length; i++) {
            got[i] = Preprocess.symmetric(i, 4);
        }
        assertArrayEquals(expected, got);
    }

    @Test
    public void areaWeightsOfEachOutputSumToTheInputLength() {
        for (int[] sizes : new int[][] {{53, 24}, {48, 24}, {9, 4}, {7, 7}, {640, 512}}) {
            AreaAxis axis = new AreaAxis(sizes[0], sizes[1]);
            for (int o = 0; o < axis.nOut; o++) {
                int sum = 0;
                for (int k = axis.offset[o]; k < axis.offset[o + 1]; k++) {
                    sum += axis.weights[k];
                }
                assertEquals(sizes[0] + "->" + sizes[1] + " output " + o, sizes[0], sum);
            }
        }
    }

    @Test
    public void aConstantFrameStaysConstant() {
        int h = 37;
        int w = 53;
        byte[] rgba = new byte[4 * h * w];
        for (int i = 0; i < h * w; i++) {
            rgba[4 * i] = (byte) 200;
            rgba[4 * i + 1] = (byte) 17;
            rgba[4 * i + 2] = (byte) 255;
            rgba[4 * i + 3] = (byte) 0;  // alpha is ignored
        }
        Preprocess p = new Preprocess(h, w, WorkingSize.plan(h, w, 24));
        float[] out = new float[p.size().tensorLength()];
        p.fromRgba(rgba, 0, 4 * w, out);
        int plane = out.length / 3;
        float[] expected = {(200f * (float) (1.0 / 255.0) - 0.5f) / 0.25f, (17f * (float) (1.0 / 255.0) - 0.5f) / 0.25f,
            (255f * (float) (1.0 / 255.0) - 0.5f) / 0.25f};
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                assertEquals(expected[c], out[c * plane + i], 0f);
            }
        }
        assertEquals(2.0f, expected[2], 0f);
    }

    @Test
    public void rejectsShortBuffers() {
        Preprocess p = new Preprocess(10, 10, WorkingSize.plan(10, 10, 512));
        float[] out = new float[p.size().tensorLength()];
        assertThrows(IllegalArgumentException.class, () -> p.fromRgba(new byte[399], 0, 40, out));
        assertThrows(IllegalArgumentException.class, () -> p.fromRgba(new byte[400], 0, 36, out));
        assertThrows(IllegalArgumentException.class, () -> p.fromArgb(new int[100], 0, 10, new float[10]));
    }
}
