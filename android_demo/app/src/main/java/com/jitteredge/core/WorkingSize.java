package com.jitteredge.core;

/**
 * The size a frame is analysed at, as {@code jitteredge.preprocess.plan_working_size} plans it.
 *
 * <p>The frame is reduced (never enlarged: enlarging softens a photo and reads as shake) so that its
 * long side is at most {@code longSide}, then padded to multiples of {@link #MULTIPLE} for the
 * encoder's pooling. A static-shape model is padded on to its fixed input size.
 */
public final class WorkingSize {
    /** The encoder pools four times. */
    public static final int MULTIPLE = 16;
    /** Working long side when the model does not say (preprocess.DEFAULT_LONG_SIDE). */
    public static final int DEFAULT_LONG_SIDE = 512;

    /** Reduced frame, before padding (px). */
    public final int height;
    public final int width;
    /** Padded to multiples of 16 (px). */
    public final int paddedHeight;
    public final int paddedWidth;
    /** Network input size: the padded size, or a static-shape model's fixed size (px). */
    public final int tensorHeight;
    public final int tensorWidth;
    /** Input pixels per working pixel (>= 1). */
    public final double inputScale;

    private WorkingSize(int height, int width, int paddedHeight, int paddedWidth, int tensorHeight,
                        int tensorWidth, double inputScale) {
        this.height = height;
        this.width = width;
        this.paddedHeight = paddedHeight;
        this.paddedWidth = paddedWidth;
        this.tensorHeight = tensorHeight;
        this.tensorWidth = tensorWidth;
        this.inputScale = inputScale;
    }

    /**
     * Plans the working size of a {@code height x width} frame for a model with dynamic height and width.
     *
     * @param longSide working long side in px (the model's {@code working_long_side})
     */
    public static WorkingSize plan(int height, int width, int longSide) {
        checkPositive(height, width);
        if (longSide < 1) {
            throw new IllegalArgumentException("longSide must be >= 1, got " + longSide);
        }
        double scale = Math.min(1.0, (double) longSide / Math.max(height, width));
        // Python's round() rounds halves to even, as Math.rint does.
        int h = Math.max(1, (int) Math.rint(height * scale));
        int w = Math.max(1, (int) Math.rint(width * scale));
        int ph = roundUp(h);
        int pw = roundUp(w);
        double inputScale = Math.max((double) height / h, (double) width / w);
        return new WorkingSize(h, w, ph, pw, ph, pw, inputScale);
    }

    /**
     * Plans the working size for a static-shape model of input {@code fixedHeight x fixedWidth}, the way
     * {@code jitteredge.infer} does: shrink the long side until the padded frame fits, pad on to the
     * fixed size.
     *
     * @throws IllegalArgumentException if the fixed size is not a multiple of 16 the frame can fit in
     */
    public static WorkingSize fit(int height, int width, int longSide, int fixedHeight, int fixedWidth) {
        checkPositive(height, width);
        checkPositive(fixedHeight, fixedWidth);
        double scale = Math.min(1.0, Math.min((double) fixedHeight / height, (double) fixedWidth / width));
        int fitted = Math.max(1, Math.min(longSide, (int) (Math.max(height, width) * scale)));
        WorkingSize s = plan(height, width, fitted);
        if (s.paddedHeight > fixedHeight || s.paddedWidth > fixedWidth) {
            throw new IllegalArgumentException("a " + width + "x" + height + " frame does not fit a "
                    + fixedWidth + "x" + fixedHeight + " model input (sizes must be multiples of " + MULTIPLE + ")");
        }
        return new WorkingSize(s.height, s.width, s.paddedHeight, s.paddedWidth, fixedHeight, fixedWidth,
                s.inputScale);
    }

    /** Number of floats in the (1, 3, tensorHeight, tensorWidth) network input. */
    public int tensorLength() {
        return 3 * tensorHeight * tensorWidth;
    }

    private static int roundUp(int n) {
        return (n + MULTIPLE - 1) / MULTIPLE * MULTIPLE;
    }

    private static void checkPositive(int height, int width) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("size must be positive, got " + width + "x" + height);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof WorkingSize)) {
            return false;
        }
        WorkingSize s = (WorkingSize) o;
        return height == s.height && width == s.width && paddedHeight == s.paddedHeight
                && paddedWidth == s.paddedWidth && tensorHeight == s.tensorHeight
                && tensorWidth == s.tensorWidth && Double.compare(inputScale, s.inputScale) == 0;
    }

    @Override
    public int hashCode() {
        int h = height;
        h = 31 * h + width;
        h = 31 * h + tensorHeight;
        h = 31 * h + tensorWidth;
        return 31 * h + Double.hashCode(inputScale);
    }

    @Override
    public String toString() {
        return width + "x" + height + " (tensor " + tensorWidth + "x" + tensorHeight + ", scale "
                + inputScale + ")";
    }
}
