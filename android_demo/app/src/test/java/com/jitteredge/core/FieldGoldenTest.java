package com.jitteredge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/** Network output code -> field, verdict, colours and overlay, against python -m jitteredge.golden. */
@RunWith(Parameterized.class)
public class FieldGoldenTest {
    /** Field components agree to a float32 rounding step (relative), or 1e-6 px near zero. */
    private static final double FIELD_TOLERANCE = 1e-6;

    @Parameters(name = "{0}")
    public static List<Object[]> cases() {
        return Golden.cases("field");
    }

    private final Golden g;
    private final JitterField field;
    private final double inputScale;

    public FieldGoldenTest(String name, Golden g) {
        this.g = g;
        int h = g.integer("height");
        int w = g.integer("width");
        float[] uv = g.floats("field");
        float[] u = new float[h * w];
        float[] v = new float[h * w];
        for (int i = 0; i < h * w; i++) {
            u[i] = uv[2 * i];
            v[i] = uv[2 * i + 1];
        }
        field = new JitterField(h, w, u, v);
        inputScale = g.dbl("input_scale");
    }

    @Test
    public void decodeMatchesPython() {
        assumeTrue("case gives a field, not a code", g.has("code"));
        JitterField got = decodeCode();
        for (int i = 0; i < field.size(); i++) {
            assertClose("U[" + i + "]", field.u[i], got.u[i]);
            assertClose("V[" + i + "]", field.v[i], got.v[i]);
            if (got.u[i] < 0) {
                throw new AssertionError(g.file + ": decoded U[" + i + "] < 0");
            }
        }
    }

    @Test
    public void verdictMatchesPythonExactly() {
        assertVerdict(Verdict.judge(field, inputScale), 0.0);
    }

    /** The whole chain on the Java side: decode may differ by an ulp, the rounded verdict may not move. */
    @Test
    public void verdictFromJavaDecodedFieldMatches() {
        assumeTrue("case gives a field, not a code", g.has("code"));
        assertVerdict(Verdict.judge(decodeCode(), inputScale), 1e-9);
    }

    @Test
    public void reusedJudgeGivesTheSameVerdict() {
        Verdict.Judge judge = new Verdict.Judge(Verdict.SHAKEN_PX);
        judge.judge(new JitterField(40, 40), 1.0);  // larger scratch arrays left over from another frame
        assertVerdict(judge.judge(field, inputScale), 0.0);
    }

    @Test
    public void evidenceMatchesPython() {
        assertArrayEquals(g.file + ": evidence", expectedEvidence(), computeEvidence());
    }

    @Test
    public void verdictWithEvidenceMatchesPython() {
        assertVerdict("verdict_evidence", Verdict.judge(field, inputScale, computeEvidence()), 0.0);
    }

    @Test
    public void evidenceReadsAPaddedImageByItsStride() {
        int h = field.height;
        int w = field.width;
        byte[] photo = g.bytes("evidence_photo");
        byte[] padded = new byte[h * (w + 5) * 3];  // 5 extra pixels per row, as the padded working image
        for (int y = 0; y < h; y++) {
            System.arraycopy(photo, y * w * 3, padded, y * (w + 5) * 3, w * 3);
        }
        boolean[] got = new boolean[h * w];
        new Evidence(g.integer("evidence_radius"), g.integer("evidence_min_std")).compute(padded, h, w, (w + 5) * 3, got);
        assertArrayEquals(g.file + ": evidence from a padded image", expectedEvidence(), got);
    }

    @Test
    public void colorsMatchPython() {
        byte[] rgb = new byte[3 * field.size()];
        Overlay.fieldToRgb(field, g.dbl("max_px"), rgb);
        assertArrayEquals(g.file + ": colours", g.bytes("colors"), rgb);
    }

    @Test
    public void overlayMatchesPython() {
        byte[] out = new byte[3 * field.size()];
        Overlay.blend(g.bytes("photo"), field, g.dbl("max_px"), g.dbl("strength"), out);
        assertArrayEquals(g.file + ": overlay", g.bytes("overlay"), out);
    }

    @Test
    public void translucentLayerCarriesTheSameColours() {
        int[] argb = new int[field.size()];
        Overlay.toArgb(field, g.dbl("max_px"), g.dbl("strength"), 1, argb);
        byte[] colors = g.bytes("colors");
        for (int i = 0; i < argb.length; i++) {
            int rgb = ((colors[3 * i] & 0xff) << 16) | ((colors[3 * i + 1] & 0xff) << 8) | (colors[3 * i + 2] & 0xff);
            assertEquals(g.file + ": layer colour " + i, rgb, argb[i] & 0xffffff);
        }
    }

    private boolean[] computeEvidence() {
        boolean[] got = new boolean[field.size()];
        Evidence evidence = new Evidence(g.integer("evidence_radius"), g.integer("evidence_min_std"));
        evidence.compute(new byte[3 * 50 * 50], 50, 50, 150, new boolean[2500]);  // tables left over from a larger frame
        evidence.compute(g.bytes("evidence_photo"), field.height, field.width, 3 * field.width, got);
        return got;
    }

    private boolean[] expectedEvidence() {
        int[] flags = g.ints("evidence");
        boolean[] want = new boolean[flags.length];
        for (int i = 0; i < flags.length; i++) {
            want[i] = flags[i] != 0;
        }
        return want;
    }

    private JitterField decodeCode() {
        int[] shape = g.ints("code_shape");
        assertEquals(2, shape[0]);
        return FieldCodec.decode(g.floats("code"), shape[1], shape[2], field.height, field.width,
                g.dbl("code_scale_px"));
    }

    private void assertVerdict(Verdict got, double tolerance) {
        assertVerdict("verdict", got, tolerance);
    }

    private void assertVerdict(String key, Verdict got, double tolerance) {
        Golden want = g.child(key);
        String where = g.file + ": " + got;
        assertEquals(where, want.bool("shaken"), got.shaken);
        assertEquals(where, want.dbl("score"), got.score, tolerance);
        assertEquals(where, want.dbl("shaken_fraction"), got.shakenFraction, tolerance);
        assertEquals(where, want.dbl("blur_px"), got.blurPx, tolerance);
        assertEquals(where, want.dbl("direction_deg"), got.directionDeg, tolerance);
        assertEquals(where, want.dbl("seen_fraction"), got.seenFraction, tolerance);
    }

    private void assertClose(String what, float expected, float actual) {
        double tol = FIELD_TOLERANCE * Math.max(1.0, Math.abs(expected));
        if (Math.abs(expected - actual) > tol) {
            throw new AssertionError(g.file + ": " + what + " expected " + expected + " got " + actual);
        }
    }
}
