package com.jitteredge.core;

/**
 * A per-pixel jitter field: the blur at each pixel is a straight segment (U, V) in pixels, U along the
 * columns (x), V along the rows (y, down). The Java side of the Python (H, W, 2) float32 field.
 */
public final class JitterField {
    public final int height;
    public final int width;
    /** Row-major (height * width) U components, px. */
    public final float[] u;
    /** Row-major (height * width) V components, px. */
    public final float[] v;

    /** An all-zero field. */
    public JitterField(int height, int width) {
        this(height, width, new float[checkedArea(height, width)], new float[checkedArea(height, width)]);
    }

    /** Wraps existing arrays (not copied). */
    public JitterField(int height, int width, float[] u, float[] v) {
        int n = checkedArea(height, width);
        if (u.length < n || v.length < n) {
            throw new IllegalArgumentException("u and v need " + n + " values for " + width + "x" + height);
        }
        this.height = height;
        this.width = width;
        this.u = u;
        this.v = v;
    }

    public int size() {
        return height * width;
    }

    /** Blur length at pixel (row y, column x), px. */
    public double lengthAt(int y, int x) {
        int i = y * width + x;
        return Math.sqrt((double) u[i] * u[i] + (double) v[i] * v[i]);
    }

    private static int checkedArea(int height, int width) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("field size must be positive, got " + width + "x" + height);
        }
        return Math.multiplyExact(height, width);
    }
}
