package com.jitteredge.core;

/**
 * Where a frame can show blur at all: pixels with enough local contrast.
 *
 * <p>Mirrors {@code jitteredge.evidence.blur_evidence} in the same integer arithmetic, so the mask is
 * the same bit for bit: grey g = R + 2G + B, and a pixel passes when the (2 radius + 1)^2 window
 * around it (clipped at the border) holds n pixels with n * sum(g^2) - sum(g)^2 > (4 minStd n)^2,
 * i.e. a grey-level standard deviation above minStd. A flat area (sky, a wall, a smooth background)
 * looks the same sharp or shaken, so the verdict does not count what the network reads there.
 *
 * <p>Keeps its summed-area tables between frames; not thread-safe, use one per analysis thread.
 */
public final class Evidence {
    /** Half side of the window, working px (a 9 x 9 window). */
    public static final int RADIUS = 4;
    /** Local grey-level standard deviation (0-255) a pixel needs. */
    public static final int MIN_STD = 5;

    private final int radius;
    private final int minStd;
    private long[] sums = new long[0];
    private long[] squares = new long[0];

    public Evidence(int radius, int minStd) {
        if (radius < 0 || minStd < 0) {
            throw new IllegalArgumentException("radius and minStd must be >= 0, got " + radius + " and " + minStd);
        }
        this.radius = radius;
        this.minStd = minStd;
    }

    /** The default window and threshold (Python's EVIDENCE_RADIUS and EVIDENCE_MIN_STD). */
    public Evidence() {
        this(RADIUS, MIN_STD);
    }

    /**
     * Fills {@code out[y * width + x]} for the top-left height x width pixels of an RGB image.
     *
     * @param rgb interleaved RGB bytes, row-major
     * @param rowStride bytes from one row to the next (3 * width, or more for a padded image)
     */
    public void compute(byte[] rgb, int height, int width, int rowStride, boolean[] out) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rowStride < 3 * width || rgb.length < (long) rowStride * (height - 1) + 3L * width) {
            throw new IllegalArgumentException("rgb holds " + rgb.length + " bytes: too few for " + width + "x"
                    + height + " at row stride " + rowStride);
        }
        if (out.length < height * width) {
            throw new IllegalArgumentException("out needs " + height * width + " values");
        }
        int tw = width + 1;
        int cells = (height + 1) * tw;
        if (sums.length < cells) {
            sums = new long[cells];
            squares = new long[cells];
        }
        // Summed-area tables: [y][x] holds the sums over rows < y and columns < x.
        for (int x = 0; x < tw; x++) {
            sums[x] = 0;
            squares[x] = 0;
        }
        for (int y = 0; y < height; y++) {
            int above = y * tw;
            int here = above + tw;
            sums[here] = 0;
            squares[here] = 0;
            long rowSum = 0;
            long rowSquares = 0;
            for (int x = 0, p = y * rowStride; x < width; x++, p += 3) {
                long g = (rgb[p] & 0xff) + 2 * (rgb[p + 1] & 0xff) + (rgb[p + 2] & 0xff);
                rowSum += g;
                rowSquares += g * g;
                sums[here + x + 1] = sums[above + x + 1] + rowSum;
                squares[here + x + 1] = squares[above + x + 1] + rowSquares;
            }
        }
        for (int y = 0; y < height; y++) {
            int y0 = Math.max(0, y - radius) * tw;
            int y1 = Math.min(height, y + radius + 1) * tw;
            long rows = (y1 - y0) / tw;
            for (int x = 0; x < width; x++) {
                int x0 = Math.max(0, x - radius);
                int x1 = Math.min(width, x + radius + 1);
                long n = rows * (x1 - x0);
                long s1 = sums[y1 + x1] - sums[y0 + x1] - sums[y1 + x0] + sums[y0 + x0];
                long s2 = squares[y1 + x1] - squares[y0 + x1] - squares[y1 + x0] + squares[y0 + x0];
                long limit = 4L * minStd * n;
                out[y * width + x] = n * s2 - s1 * s1 > limit * limit;
            }
        }
    }
}
