package com.jitteredge.core;

import java.util.Arrays;

/**
 * From a per-pixel field to an image-level verdict: shaken or not, how far, which way.
 *
 * <p>A pixel is shaken when its blur is longer than SHAKEN_PX and the frame has the local contrast to
 * show it ({@link Evidence}); the frame is shaken when more than 5% of its pixels are.
 *
 * <p>Mirrors {@code jitteredge.verdict.judge_field} line for line, with NumPy's quantile, median and
 * pairwise summation and Python's rounding (see {@link PyMath}), so the golden vectors match exactly.
 */
public final class Verdict {
    /** A pixel counts as shaken when its blur is longer than this (working px). */
    public static final double SHAKEN_PX = 2.0;
    /** The image is shaken when more than 5% of its pixels are. */
    public static final double AREA_QUANTILE = 0.95;

    /** score >= 0.5: more than (1 - AREA_QUANTILE) of the pixels are shaken. */
    public final boolean shaken;
    /** 0-1, higher = more shake; 0.5 where the AREA_QUANTILE blur equals SHAKEN_PX (4 decimals). */
    public final double score;
    /** Share of pixels with blur > SHAKEN_PX (4 decimals). */
    public final double shakenFraction;
    /** Median blur length over shaken pixels, in input-image px; 0 if none (3 decimals). */
    public final double blurPx;
    /** Dominant blur orientation in [0, 180), image x axis, y down; 0 if none (2 decimals). */
    public final double directionDeg;
    /** Share of pixels with the contrast to show blur ({@link Evidence}); 1 without a mask (4 decimals). */
    public final double seenFraction;

    public Verdict(boolean shaken, double score, double shakenFraction, double blurPx, double directionDeg,
            double seenFraction) {
        this.shaken = shaken;
        this.score = score;
        this.shakenFraction = shakenFraction;
        this.blurPx = blurPx;
        this.directionDeg = directionDeg;
        this.seenFraction = seenFraction;
    }

    /** Judges a field with the default threshold; allocates its scratch arrays (see {@link Judge}). */
    public static Verdict judge(JitterField field, double inputScale) {
        return new Judge(SHAKEN_PX).judge(field, inputScale, null);
    }

    /** As {@link #judge(JitterField, double)}, counting only the pixels where {@code evidence} is true. */
    public static Verdict judge(JitterField field, double inputScale, boolean[] evidence) {
        return new Judge(SHAKEN_PX).judge(field, inputScale, evidence);
    }

    /**
     * The blur orientation as seen on screen when the frame is shown rotated clockwise by
     * {@code rotationDegrees} (CameraX's ImageInfo.getRotationDegrees): in y-down image coordinates a
     * clockwise turn adds to the angle.
     */
    public static double displayDirectionDeg(double directionDeg, int rotationDegrees) {
        return PyMath.mod(directionDeg + rotationDegrees, 180.0);
    }

    @Override
    public String toString() {
        return "Verdict(shaken=" + shaken + ", score=" + score + ", shakenFraction=" + shakenFraction
                + ", blurPx=" + blurPx + ", directionDeg=" + directionDeg + ", seenFraction=" + seenFraction + ")";
    }

    /**
     * Reusable judge: keeps its scratch arrays between frames, so a camera loop allocates nothing.
     * Not thread-safe; use one per analysis thread.
     */
    public static final class Judge {
        private final double shakenPx;
        private double[] lengths = new double[0];
        private double[] cosTerms = new double[0];
        private double[] sinTerms = new double[0];

        /** @param shakenPx per-pixel threshold in working px (Verdict.SHAKEN_PX) */
        public Judge(double shakenPx) {
            this.shakenPx = shakenPx;
        }

        /** Judges a field measured at working resolution, every pixel counting. */
        public Verdict judge(JitterField field, double inputScale) {
            return judge(field, inputScale, null);
        }

        /**
         * Judges a field measured at working resolution.
         *
         * @param field field in working px
         * @param inputScale input px per working px (>= 1 when the frame was reduced)
         * @param evidence row-major mask of the pixels where the frame can show blur ({@link Evidence});
         *     elsewhere the field is read as no blur. null: every pixel counts.
         */
        public Verdict judge(JitterField field, double inputScale, boolean[] evidence) {
            int n = field.size();
            if (evidence != null && evidence.length < n) {
                throw new IllegalArgumentException("evidence mask holds " + evidence.length + " values, field " + n);
            }
            ensureCapacity(n);
            int shakenCount = 0;
            int seenCount = 0;
            for (int i = 0; i < n; i++) {
                double u = field.u[i];
                double v = field.v[i];
                // A flat area shows no blur: no shake seen there.
                boolean seen = evidence == null || evidence[i];
                double mag = seen ? Math.hypot(u, v) : 0.0;
                if (seen) {
                    seenCount++;
                }
                lengths[i] = mag;
                if (mag > shakenPx) {
                    // Mean of the doubled angle weighted by length: sign-invariant. Kept in pixel order
                    // so the pairwise sum rounds as np.sum does.
                    cosTerms[shakenCount] = (u * u - v * v) / mag;
                    sinTerms[shakenCount] = 2.0 * u * v / mag;
                    shakenCount++;
                }
            }
            double shakenFraction = (double) shakenCount / n;
            Arrays.sort(lengths, 0, n);
            double q = PyMath.quantileLinear(lengths, n, AREA_QUANTILE);
            double score = Math.min(1.0, q / (2.0 * shakenPx));
            double blurPx = 0.0;
            double directionDeg = 0.0;
            if (shakenCount > 0) {
                // The shaken lengths are exactly the largest shakenCount ones: the tail of the sort.
                blurPx = PyMath.medianSorted(lengths, n - shakenCount, shakenCount) * inputScale;
                double c = PyMath.pairwiseSum(cosTerms, 0, shakenCount);
                double s = PyMath.pairwiseSum(sinTerms, 0, shakenCount);
                directionDeg = PyMath.mod(0.5 * Math.atan2(s, c) * PyMath.RAD_TO_DEG, 180.0);
            }
            double seenFraction = evidence == null ? 1.0 : (double) seenCount / n;
            return new Verdict(score >= 0.5, PyMath.round(score, 4), PyMath.round(shakenFraction, 4),
                    PyMath.round(blurPx, 3), PyMath.round(directionDeg, 2), PyMath.round(seenFraction, 4));
        }

        private void ensureCapacity(int n) {
            if (lengths.length < n) {
                lengths = new double[n];
                cosTerms = new double[n];
                sinTerms = new double[n];
            }
        }
    }
}
