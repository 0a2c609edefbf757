package com.jitteredge.core;

import java.util.Arrays;

/**
 * The last {@code capacity} frame latencies and their median (p50), as shown on screen.
 *
 * <p>Thread-safe: the analysis thread adds, the UI thread may read.
 */
public final class LatencyWindow {
    private final double[] ring;
    private final double[] scratch;
    private int next;
    private int count;

    /** @param capacity number of most recent samples the median is taken over (>= 1) */
    public LatencyWindow(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        ring = new double[capacity];
        scratch = new double[capacity];
    }

    /** Adds one latency (any unit; milliseconds on screen), dropping the oldest when full. */
    public synchronized void add(double latency) {
        ring[next] = latency;
        next = (next + 1) % ring.length;
        count = Math.min(count + 1, ring.length);
    }

    /** Median of the samples in the window (mean of the middle two for an even count); NaN when empty. */
    public synchronized double p50() {
        if (count == 0) {
            return Double.NaN;
        }
        // While filling, the samples are ring[0..count); once full, the whole ring.
        System.arraycopy(ring, 0, scratch, 0, count);
        Arrays.sort(scratch, 0, count);
        return PyMath.medianSorted(scratch, 0, count);
    }

    public synchronized int size() {
        return count;
    }

    public int capacity() {
        return ring.length;
    }

    public synchronized void clear() {
        next = 0;
        count = 0;
    }
}
