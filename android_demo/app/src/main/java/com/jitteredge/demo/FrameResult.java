package com.jitteredge.demo;

import android.graphics.Bitmap;
import com.jitteredge.core.Verdict;
import com.jitteredge.core.WorkingSize;

/** What one analysed camera frame hands to the screen. Immutable. */
final class FrameResult {
    final Verdict verdict;
    /** Translucent jitter map in sensor orientation (see Overlay.toArgb); shown until the next frame. */
    final Bitmap layer;
    /** Clockwise rotation that turns the sensor image upright on screen (ImageInfo.getRotationDegrees). */
    final int rotationDegrees;
    /** Median frame latency over the recent window, ms. */
    final double latencyP50Ms;
    final String backend;
    final WorkingSize size;

    FrameResult(Verdict verdict, Bitmap layer, int rotationDegrees, double latencyP50Ms, String backend,
                WorkingSize size) {
        this.verdict = verdict;
        this.layer = layer;
        this.rotationDegrees = rotationDegrees;
        this.latencyP50Ms = latencyP50Ms;
        this.backend = backend;
        this.size = size;
    }
}
