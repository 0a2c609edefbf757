package com.jitteredge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/** Camera pixels -> network input, against python -m jitteredge.golden: bit for bit. */
@RunWith(Parameterized.class)
public class PreprocessGoldenTest {
    @Parameters(name = "{0}")
    public static List<Object[]> cases() {
        return Golden.cases("preprocess");
    }

    private final Golden g;
    private final int height;
    private final int width;
    private final byte[] rgba;

    public PreprocessGoldenTest(String name, Golden g) {
        this.g = g;
        height = g.integer("height");
        width = g.integer("width");
        rgba = g.bytes("rgba");
    }

    private WorkingSize plan() {
        int longSide = g.integer("long_side");
        if (g.has("fixed_hw")) {
            int[] fixed = g.ints("fixed_hw");
            return WorkingSize.fit(height, width, longSide, fixed[0], fixed[1]);
        }
        return WorkingSize.plan(height, width, longSide);
    }

    @Test
    public void workingSizeMatchesPython() {
        WorkingSize s = plan();
        Golden w = g.child("working");
        assertEquals(w.integer("height"), s.height);
        assertEquals(w.integer("width"), s.width);
        assertEquals(w.integer("padded_height"), s.paddedHeight);
        assertEquals(w.integer("padded_width"), s.paddedWidth);
        assertEquals(w.dbl("input_scale"), s.inputScale, 0.0);
        assertArrayEquals(g.ints("tensor_shape"), new int[] {1, 3, s.tensorHeight, s.tensorWidth});
    }

    @Test
    public void rgbaBytesGiveTheSameWorkingImageAndTensor() {
        Preprocess p = new Preprocess(height, width, plan());
        float[] out = new float[p.size().tensorLength()];
        p.fromRgba(rgba, 0, 4 * width, out);
        assertArrayEquals("working RGB", g.bytes("working_rgb"), p.workingRgb());
        assertTensorBits(g.floats("tensor"), out);
    }

    @Test
    public void argbIntsGiveTheSameTensor() {
        int[] argb = new int[height * width];
        for (int i = 0; i < argb.length; i++) {
            argb[i] = ((rgba[4 * i + 3] & 0xff) << 24) | ((rgba[4 * i] & 0xff) << 16)
                    | ((rgba[4 * i + 1] & 0xff) << 8) | (rgba[4 * i + 2] & 0xff);
        }
        Preprocess p = new Preprocess(height, width, plan());
        float[] out = new float[p.size().tensorLength()];
        p.fromArgb(argb, 0, width, out);
        assertTensorBits(g.floats("tensor"), out);

        float[] rowWise = new float[out.length];
        p.fromRows((y, row) -> System.arraycopy(argb, y * width, row, 0, width), rowWise);
        assertTensorBits(g.floats("tensor"), rowWise);
    }

    /** CameraX rows are often padded (rowStride > 4 * width); frames come one after another. */
    @Test
    public void paddedRowsAndReusedBuffersGiveTheSameTensor() {
        int offset = 8;
        int rowStride = 4 * width + 12;
        byte[] padded = new byte[offset + rowStride * (height - 1) + 4 * width];  // last row unpadded
        java.util.Arrays.fill(padded, (byte) 0x7f);
        for (int y = 0; y < height; y++) {
            System.arraycopy(rgba, 4 * width * y, padded, offset + rowStride * y, 4 * width);
        }
        Preprocess p = new Preprocess(height, width, plan());
        float[] out = new float[p.size().tensorLength()];
        p.fromRgba(new byte[4 * width * height], 0, 4 * width, out);  // an earlier, black frame
        p.fromRgba(padded, offset, rowStride, out);
        assertTensorBits(g.floats("tensor"), out);
    }

    private void assertTensorBits(float[] expected, float[] actual) {
        assertEquals(g.file + ": tensor length", expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                throw new AssertionError(g.file + ": tensor[" + i + "] expected " + expected[i] + " got " + actual[i]);
            }
        }
    }
}
