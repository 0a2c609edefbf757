package com.jitteredge.core;

/**
 * Network output code -> jitter field, as {@code jitteredge.fieldcode.decode_field}.
 *
 * <p>(U, V) and (-U, -V) blur alike, so the network predicts the doubled-angle code
 * c = (|M| cos 2phi, |M| sin 2phi) / codeScalePx. Decoding picks the representative with U >= 0.
 * Python computes phi = atan2(b, a) / 2 and r (cos phi, sin phi); this class uses the half-angle
 * identities instead (no trigonometry per pixel, which matters at camera frame rates). Both give the
 * same float32 field to within one unit in the last place; the golden vectors check it.
 */
public final class FieldCodec {
    /** Network outputs are the code divided by this (fieldcode.CODE_SCALE_PX). */
    public static final double CODE_SCALE_PX = 8.0;

    private FieldCodec() {
    }

    /**
     * Decodes the top-left {@code out.height x out.width} corner of a channels-first code.
     *
     * @param code float32 (2, codeHeight, codeWidth) network output, batch dimension dropped
     * @param codeScalePx the model's code scale (metadata {@code code_scale_px})
     * @param out receives (U, V) in working pixels; must not be larger than the code
     */
    public static void decode(float[] code, int codeHeight, int codeWidth, double codeScalePx, JitterField out) {
        int plane = codeHeight * codeWidth;
        if (out.height > codeHeight || out.width > codeWidth || code.length < 2 * plane) {
            throw new IllegalArgumentException("code (2, " + codeHeight + ", " + codeWidth + ") cannot give a "
                    + out.width + "x" + out.height + " field");
        }
        for (int y = 0; y < out.height; y++) {
            int src = y * codeWidth;
            int dst = y * out.width;
            for (int x = 0; x < out.width; x++) {
                double a = code[src + x] * codeScalePx;
                double b = code[plane + src + x] * codeScalePx;
                decodeOne(a, b, out.u, out.v, dst + x);
            }
        }
    }

    /** Allocating form of {@link #decode(float[], int, int, double, JitterField)}. */
    public static JitterField decode(float[] code, int codeHeight, int codeWidth, int height, int width,
                                     double codeScalePx) {
        JitterField out = new JitterField(height, width);
        decode(code, codeHeight, codeWidth, codeScalePx, out);
        return out;
    }

    /**
     * (a, b) = r (cos 2phi, sin 2phi) with phi in (-pi/2, pi/2] -> (r cos phi, r sin phi).
     *
     * <p>u = sqrt(r (r + a) / 2) and |v| = sqrt(r (r - a) / 2); whichever has no cancellation is taken
     * from its square root, the other from u v = r b / 2.
     */
    private static void decodeOne(double a, double b, float[] u, float[] v, int i) {
        double r = Math.sqrt(a * a + b * b);
        if (r == 0.0) {
            u[i] = 0f;
            v[i] = 0f;
            return;
        }
        double cu;
        double cv;
        if (a >= 0) {
            cu = Math.sqrt(0.5 * r * (r + a));
            cv = r * b / (2.0 * cu);
        } else {
            // atan2(+-0, a < 0) = +-pi: the sign of b (even a signed zero) picks +-pi/2.
            cv = Math.copySign(Math.sqrt(0.5 * r * (r - a)), b);
            cu = r * b / (2.0 * cv);
        }
        u[i] = (float) cu;
        v[i] = (float) cv;
    }
}
