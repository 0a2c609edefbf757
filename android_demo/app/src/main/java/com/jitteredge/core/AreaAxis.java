package com.jitteredge.core;

/**
 * Integer overlap weights of an area resize along one axis ({@code jitteredge.golden.area_weights}).
 *
 * <p>On a grid of nIn * nOut cells, input pixel i covers [i nOut, (i + 1) nOut) and output pixel o
 * covers [o nIn, (o + 1) nIn); the weight is the overlap, and each output's weights sum to nIn.
 */
final class AreaAxis {
    final int nIn;
    final int nOut;
    /** First input index of each output pixel. */
    final int[] first;
    /** Weights of output o are weights[offset[o] .. offset[o + 1]). */
    final int[] offset;
    final int[] weights;

    AreaAxis(int nIn, int nOut) {
        if (nIn < 1 || nOut < 1) {
            throw new IllegalArgumentException("axis sizes must be positive: " + nIn + " -> " + nOut);
        }
        this.nIn = nIn;
        this.nOut = nOut;
        first = new int[nOut];
        offset = new int[nOut + 1];
        int total = 0;
        for (int o = 0; o < nOut; o++) {
            total += lastInput(o) - firstInput(o) + 1;
        }
        weights = new int[total];
        int k = 0;
        for (int o = 0; o < nOut; o++) {
            first[o] = firstInput(o);
            offset[o] = k;
            long lo = (long) o * nIn;
            long hi = (long) (o + 1) * nIn;
            for (int i = first[o]; i <= lastInput(o); i++) {
                long overlap = Math.min((long) (i + 1) * nOut, hi) - Math.max((long) i * nOut, lo);
                weights[k++] = (int) overlap;
            }
        }
        offset[nOut] = k;
    }

    private int firstInput(int o) {
        return (int) ((long) o * nIn / nOut);
    }

    private int lastInput(int o) {
        return (int) (((long) (o + 1) * nIn + nOut - 1) / nOut) - 1;
    }
}
