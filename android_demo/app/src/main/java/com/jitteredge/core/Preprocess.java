package com.jitteredge.core;

import java.util.Arrays;

/**
 * Camera pixels -> network input: area-reduce to the working size, pad, normalise, NCHW float32.
 *
 * <p>Matches {@code jitteredge.golden.prepare_exact}: exact integer area averaging (round half up),
 * {@code np.pad(mode="symmetric")} padding to multiples of 16 (and on to a static-shape model's size),
 * then {@code jitteredge.preprocess.normalize}: (x / 255 - 0.5) / 0.25 in float32, RGB channel order.
 * Alpha is ignored. One instance serves every frame of one size and reuses its buffers.
 * Not thread-safe.
 */
public final class Preprocess {
    /** preprocess.MEAN and STD: x / 255 is centred at 0.5 and scaled by 1 / 0.25. */
    public static final float MEAN = 0.5f;
    public static final float STD = 0.25f;
    /** The float32 that NumPy multiplies by for {@code x * (1.0 / 255.0)}. */
    private static final float INV_255 = (float) (1.0 / 255.0);
    /** normalize() of every byte value, computed exactly as NumPy does it in float32. */
    private static final float[] NORMALIZED = new float[256];

    static {
        for (int i = 0; i < 256; i++) {
            NORMALIZED[i] = ((float) i * INV_255 - MEAN) / STD;
        }
    }

    /** Supplies an image one row at a time (e.g. Bitmap.getPixels of one row), never all of it at once. */
    public interface RowSource {
        /**
         * Writes row {@code y} as packed 0xAARRGGBB pixels.
         *
         * @param argb receives {@code width} pixels
         */
        void argbRow(int y, int[] argb);
    }

    /** Fills one input row as interleaved RGB. */
    private interface RowReader {
        void read(int y, int[] rgb);
    }

    private final int inputHeight;
    private final int inputWidth;
    private final WorkingSize size;
    private final AreaAxis rows;
    private final AreaAxis cols;
    private final byte[] working;
    private final int[] rowRgb;
    private final int[] argbRow;
    private final long[] rowSums;
    private final long[] acc;
    private final int[] tensorRowToWorking;
    private final int[] tensorColToWorking;

    /**
     * @param inputHeight frame height, px
     * @param inputWidth frame width, px
     * @param size working size planned for this frame size ({@link WorkingSize#plan} or {@link WorkingSize#fit})
     */
    public Preprocess(int inputHeight, int inputWidth, WorkingSize size) {
        if (inputHeight < 1 || inputWidth < 1) {
            throw new IllegalArgumentException("frame size must be positive, got " + inputWidth + "x" + inputHeight);
        }
        this.inputHeight = inputHeight;
        this.inputWidth = inputWidth;
        this.size = size;
        rows = new AreaAxis(inputHeight, size.height);
        cols = new AreaAxis(inputWidth, size.width);
        working = new byte[size.paddedHeight * size.paddedWidth * 3];
        rowRgb = new int[inputWidth * 3];
        argbRow = new int[inputWidth];
        rowSums = new long[size.width * 3];
        acc = new long[size.width * 3];
        tensorRowToWorking = new int[size.tensorHeight];
        for (int y = 0; y < size.tensorHeight; y++) {
            tensorRowToWorking[y] = symmetric(symmetric(y, size.paddedHeight), size.height);
        }
        tensorColToWorking = new int[size.tensorWidth];
        for (int x = 0; x < size.tensorWidth; x++) {
            tensorColToWorking[x] = symmetric(symmetric(x, size.paddedWidth), size.width);
        }
    }

    public WorkingSize size() {
        return size;
    }

    public int inputHeight() {
        return inputHeight;
    }

    public int inputWidth() {
        return inputWidth;
    }

    /**
     * From RGBA_8888 bytes (CameraX OUTPUT_IMAGE_FORMAT_RGBA_8888, pixel stride 4).
     *
     * @param rgba frame bytes
     * @param offset index of the first pixel's R
     * @param rowStride bytes from one row to the next (>= 4 * width)
     * @param out receives the (1, 3, tensorHeight, tensorWidth) input; at least size().tensorLength()
     */
    public void fromRgba(byte[] rgba, int offset, int rowStride, float[] out) {
        checkStride(rowStride, 4 * inputWidth, rgba.length - offset);
        run((y, rgb) -> {
            int p = offset + y * rowStride;
            for (int x = 0, k = 0; x < inputWidth; x++, p += 4) {
                rgb[k++] = rgba[p] & 0xff;
                rgb[k++] = rgba[p + 1] & 0xff;
                rgb[k++] = rgba[p + 2] & 0xff;
            }
        }, out);
    }

    /**
     * From packed 0xAARRGGBB pixels (Android Bitmap.getPixels).
     *
     * @param stride ints from one row to the next (>= width)
     */
    public void fromArgb(int[] argb, int offset, int stride, float[] out) {
        checkStride(stride, inputWidth, argb.length - offset);
        run((y, rgb) -> unpackArgb(argb, offset + y * stride, rgb), out);
    }

    /** From a source that hands out one row at a time: a large still never needs a full int[] copy. */
    public void fromRows(RowSource source, float[] out) {
        run((y, rgb) -> {
            source.argbRow(y, argbRow);
            unpackArgb(argbRow, 0, rgb);
        }, out);
    }

    /**
     * The padded working image of the last frame: uint8 (paddedHeight, paddedWidth, 3) RGB, row-major.
     * Shared, overwritten by the next frame.
     */
    public byte[] workingRgb() {
        return working;
    }

    private void run(RowReader reader, float[] out) {
        if (out.length < size.tensorLength()) {
            throw new IllegalArgumentException("output holds " + out.length + " floats, need " + size.tensorLength());
        }
        resize(reader);
        padWorking();
        normalize(out);
    }

    /** Exact area averaging into the top-left height x width corner of {@link #working}. */
    private void resize(RowReader reader) {
        int w = size.width;
        int rowBytes = size.paddedWidth * 3;
        if (size.height == inputHeight && w == inputWidth) {
            for (int y = 0; y < inputHeight; y++) {
                reader.read(y, rowRgb);
                for (int k = 0, p = y * rowBytes; k < 3 * w; k++) {
                    working[p + k] = (byte) rowRgb[k];
                }
            }
            return;
        }
        long den = (long) inputHeight * inputWidth;
        int cachedRow = -1;
        for (int oy = 0; oy < size.height; oy++) {
            Arrays.fill(acc, 0L);
            for (int k = rows.offset[oy], y = rows.first[oy]; k < rows.offset[oy + 1]; k++, y++) {
                if (y != cachedRow) {  // a boundary row serves two output rows: read it once
                    reader.read(y, rowRgb);
                    horizontalSums(rowRgb, rowSums);
                    cachedRow = y;
                }
                long wy = rows.weights[k];
                for (int i = 0; i < 3 * w; i++) {
                    acc[i] += wy * rowSums[i];
                }
            }
            for (int i = 0, p = oy * rowBytes; i < 3 * w; i++) {
                working[p + i] = (byte) ((2 * acc[i] + den) / (2 * den));  // round half up, exactly
            }
        }
    }

    private void horizontalSums(int[] rgb, long[] sums) {
        for (int ox = 0; ox < size.width; ox++) {
            long r = 0;
            long g = 0;
            long b = 0;
            for (int k = cols.offset[ox], x = cols.first[ox]; k < cols.offset[ox + 1]; k++, x++) {
                long wx = cols.weights[k];
                r += wx * rgb[3 * x];
                g += wx * rgb[3 * x + 1];
                b += wx * rgb[3 * x + 2];
            }
            sums[3 * ox] = r;
            sums[3 * ox + 1] = g;
            sums[3 * ox + 2] = b;
        }
    }

    /** np.pad(mode="symmetric") of the working image out to paddedHeight x paddedWidth. */
    private void padWorking() {
        int rowBytes = size.paddedWidth * 3;
        for (int y = 0; y < size.height; y++) {
            int p = y * rowBytes;
            for (int x = size.width; x < size.paddedWidth; x++) {
                System.arraycopy(working, p + 3 * symmetric(x, size.width), working, p + 3 * x, 3);
            }
        }
        for (int y = size.height; y < size.paddedHeight; y++) {
            System.arraycopy(working, symmetric(y, size.height) * rowBytes, working, y * rowBytes, rowBytes);
        }
    }

    /** RGB bytes -> normalised channels-first floats, padded on to the tensor size. */
    private void normalize(float[] out) {
        int th = size.tensorHeight;
        int tw = size.tensorWidth;
        int plane = th * tw;
        int rowBytes = size.paddedWidth * 3;
        for (int y = 0; y < th; y++) {
            int src = tensorRowToWorking[y] * rowBytes;
            int dst = y * tw;
            for (int x = 0; x < tw; x++) {
                int p = src + 3 * tensorColToWorking[x];
                out[dst + x] = NORMALIZED[working[p] & 0xff];
                out[plane + dst + x] = NORMALIZED[working[p + 1] & 0xff];
                out[2 * plane + dst + x] = NORMALIZED[working[p + 2] & 0xff];
            }
        }
    }

    private void unpackArgb(int[] argb, int start, int[] rgb) {
        for (int x = 0, k = 0; x < inputWidth; x++) {
            int c = argb[start + x];
            rgb[k++] = (c >> 16) & 0xff;
            rgb[k++] = (c >> 8) & 0xff;
            rgb[k++] = c & 0xff;
        }
    }

    private void checkStride(int stride, int rowLength, int available) {
        if (stride < rowLength) {
            throw new IllegalArgumentException("row stride " + stride + " is shorter than a row (" + rowLength + ")");
        }
        long needed = (long) stride * (inputHeight - 1) + rowLength;
        if (available < needed) {
            throw new IllegalArgumentException("frame holds " + available + " values, need " + needed);
        }
    }

    /**
     * Index {@code i >= 0} into [0, n) with np.pad's "symmetric" rule: mirrored including the edge,
     * repeating with period 2n when the padding is longer than the image.
     */
    static int symmetric(int i, int n) {
        int m = i % (2 * n);
        return m < n ? m : 2 * n - 1 - m;
    }
}
