package com.jitteredge.core;

/**
 * Field -> colours: hue for the blur orientation, brightness for its length, as
 * {@code jitteredge.colorize.field_to_rgb} and {@code overlay}.
 *
 * <p>Orientation is sign-free, so the hue turns once per 180 degrees of direction:
 * hue_deg = 2 atan2(V, U) mod 360; value = |M| / maxPx clipped to 1; full saturation.
 */
public final class Overlay {
    /** Blur length drawn at full brightness, working px (analyze's COLOUR_FULL_WORKING_PX). */
    public static final double DEFAULT_MAX_PX = 10.0;
    /** Opacity of the colour map where the blur reaches maxPx (colorize.overlay's default). */
    public static final double DEFAULT_STRENGTH = 0.7;

    private Overlay() {
    }

    /**
     * The colour of one field vector as 0xRRGGBB.
     *
     * @param u blur along x, px
     * @param v blur along y, px
     * @param maxPx length drawn at full brightness, px
     */
    public static int colorOf(double u, double v, double maxPx) {
        double hue = PyMath.mod(2.0 * Math.atan2(v, u) * PyMath.RAD_TO_DEG, 360.0);
        double val = clip01(Math.hypot(u, v) / maxPx);
        // colorize.hsv_to_rgb with saturation 1: the textbook sextant formula.
        double h = PyMath.mod(hue, 360.0) / 60.0;
        double c = val;
        double x = c * (1.0 - Math.abs(PyMath.mod(h, 2.0) - 1.0));
        double m = val - c;
        double r;
        double g;
        double b;
        switch (Math.floorMod((int) Math.floor(h), 6)) {
            case 0: r = c; g = x; b = 0; break;
            case 1: r = x; g = c; b = 0; break;
            case 2: r = 0; g = c; b = x; break;
            case 3: r = 0; g = x; b = c; break;
            case 4: r = x; g = 0; b = c; break;
            default: r = c; g = 0; b = x; break;
        }
        return (toByte(r + m) << 16) | (toByte(g + m) << 8) | toByte(b + m);
    }

    /**
     * The colour map of a whole field.
     *
     * @param rgbOut receives uint8 (H, W, 3) RGB, row-major; at least 3 * H * W bytes
     */
    public static void fieldToRgb(JitterField field, double maxPx, byte[] rgbOut) {
        int n = field.size();
        for (int i = 0; i < n; i++) {
            int rgb = colorOf(field.u[i], field.v[i], maxPx);
            rgbOut[3 * i] = (byte) (rgb >> 16);
            rgbOut[3 * i + 1] = (byte) (rgb >> 8);
            rgbOut[3 * i + 2] = (byte) rgb;
        }
    }

    /**
     * Blends the colour map over a photo of the field's size, more opaque where the blur is longer
     * (colorize.overlay).
     *
     * @param photoRgb uint8 (H, W, 3) RGB
     * @param out receives uint8 (H, W, 3) RGB; may be {@code photoRgb}
     */
    public static void blend(byte[] photoRgb, JitterField field, double maxPx, double strength, byte[] out) {
        int n = field.size();
        float maxF = (float) maxPx;
        float strengthF = (float) strength;
        for (int i = 0; i < n; i++) {
            float u = field.u[i];
            float v = field.v[i];
            int rgb = colorOf(u, v, maxPx);
            // colorize.overlay computes alpha in float32 (np.hypot of the float32 field).
            float alpha = strengthF * clip01f(hypotF(u, v) / maxF);
            double keep = 1f - alpha;
            for (int ch = 0; ch < 3; ch++) {
                int colour = (rgb >> (16 - 8 * ch)) & 0xff;
                double mixed = (photoRgb[3 * i + ch] & 0xff) * keep + colour * (double) alpha;
                out[3 * i + ch] = (byte) Math.floor(mixed + 0.5);
            }
        }
    }

    /**
     * A translucent ARGB layer (Android Bitmap ARGB_8888 order) to draw over the live preview: the
     * colour map with alpha = strength * |M| / maxPx, sampled every {@code step} pixels.
     *
     * @param step sampling step (1 = every pixel); the layer is ceil(H / step) x ceil(W / step)
     * @param argbOut receives the layer row-major; at least layerHeight * layerWidth ints
     */
    public static void toArgb(JitterField field, double maxPx, double strength, int step, int[] argbOut) {
        if (step < 1) {
            throw new IllegalArgumentException("step must be >= 1, got " + step);
        }
        int k = 0;
        for (int y = 0; y < field.height; y += step) {
            for (int x = 0; x < field.width; x += step) {
                int i = y * field.width + x;
                float u = field.u[i];
                float v = field.v[i];
                double alpha = strength * clip01(Math.hypot(u, v) / maxPx);
                argbOut[k++] = (toByte(alpha) << 24) | colorOf(u, v, maxPx);
            }
        }
    }

    /** Side of the {@link #toArgb} layer for a field side and step. */
    public static int layerSide(int fieldSide, int step) {
        return (fieldSide + step - 1) / step;
    }

    /** np.floor(x * 255 + 0.5) as uint8, for x in [0, 1]. */
    private static int toByte(double x) {
        return (int) Math.floor(x * 255.0 + 0.5);
    }

    private static double clip01(double x) {
        return x < 0.0 ? 0.0 : Math.min(x, 1.0);
    }

    private static float clip01f(float x) {
        return x < 0f ? 0f : Math.min(x, 1f);
    }

    /** np.hypot on float32: computed in double and rounded once, as C's hypotf effectively is. */
    private static float hypotF(float u, float v) {
        return (float) Math.hypot(u, v);
    }
}
