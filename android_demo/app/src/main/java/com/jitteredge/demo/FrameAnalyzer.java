package com.jitteredge.demo;

import ai.onnxruntime.OrtException;
import android.graphics.Bitmap;
import android.os.SystemClock;
import androidx.annotation.NonNull;
import androidx.camera.core.ImageAnalysis;
import androidx.camera.core.ImageProxy;
import com.jitteredge.core.Evidence;
import com.jitteredge.core.FieldCodec;
import com.jitteredge.core.JitterField;
import com.jitteredge.core.LatencyWindow;
import com.jitteredge.core.Overlay;
import com.jitteredge.core.Preprocess;
import com.jitteredge.core.Verdict;
import com.jitteredge.core.WorkingSize;
import java.nio.ByteBuffer;

/**
 * Live analysis: RGBA_8888 frame -> network input -> code -> field -> verdict and jitter map.
 *
 * <p>Every buffer (frame bytes, input floats, code, field, evidence mask, layer pixels and bitmaps) is allocated once
 * per frame size and reused; CameraX's STRATEGY_KEEP_ONLY_LATEST drops frames while one is running, so
 * the preview never queues behind the network.
 */
final class FrameAnalyzer implements ImageAnalysis.Analyzer {
    interface Listener {
        /** Called on the analysis thread. */
        void onFrame(FrameResult result);

        /** Called on the analysis thread; the message is for the screen. */
        void onFrameError(String message);
    }

    /** Latencies the on-screen median is taken over. */
    private static final int LATENCY_WINDOW = 30;
    /** The jitter map is smooth: drawing every second working pixel looks the same and costs a quarter. */
    private static final int LAYER_STEP = 2;
    /** Bitmaps in rotation: one being filled, one on screen, one spare while the UI catches up. */
    private static final int LAYER_BUFFERS = 3;

    private final JitterModel model;
    private final Listener listener;
    private final LatencyWindow latency = new LatencyWindow(LATENCY_WINDOW);
    private final Verdict.Judge judge = new Verdict.Judge(Verdict.SHAKEN_PX);
    private final Evidence evidence = new Evidence();

    private int frameHeight;
    private int frameWidth;
    private Preprocess preprocess;
    private byte[] frameBytes = new byte[0];
    private float[] input;
    private float[] code;
    private JitterField field;
    private boolean[] evidenceMask;
    private int[] layerPixels;
    private final Bitmap[] layers = new Bitmap[LAYER_BUFFERS];
    private int nextLayer;

    FrameAnalyzer(JitterModel model, Listener listener) {
        this.model = model;
        this.listener = listener;
    }

    @Override
    public void analyze(@NonNull ImageProxy image) {
        long start = SystemClock.elapsedRealtimeNanos();
        try {
            ImageProxy.PlaneProxy plane = image.getPlanes()[0];
            if (plane.getPixelStride() != 4) {
                listener.onFrameError("unexpected camera format (pixel stride " + plane.getPixelStride() + ")");
                return;
            }
            ensureFrameSize(image.getHeight(), image.getWidth());
            ByteBuffer buffer = plane.getBuffer();
            buffer.rewind();
            int n = buffer.remaining();
            if (frameBytes.length < n) {
                frameBytes = new byte[n];
            }
            buffer.get(frameBytes, 0, n);
            WorkingSize size = preprocess.size();
            preprocess.fromRgba(frameBytes, 0, plane.getRowStride(), input);
            model.run(input, size, code);
            FieldCodec.decode(code, size.tensorHeight, size.tensorWidth, model.codeScalePx(), field);
            evidence.compute(preprocess.workingRgb(), size.height, size.width, 3 * size.paddedWidth, evidenceMask);
            Verdict verdict = judge.judge(field, size.inputScale, evidenceMask);
            Bitmap layer = drawLayer();
            latency.add((SystemClock.elapsedRealtimeNanos() - start) / 1e6);
            listener.onFrame(new FrameResult(verdict, layer, image.getImageInfo().getRotationDegrees(),
                    latency.p50(), model.backend(), size));
        } catch (OrtException | RuntimeException e) {
            listener.onFrameError(e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            image.close();
        }
    }

    private void ensureFrameSize(int height, int width) {
        if (preprocess != null && height == frameHeight && width == frameWidth) {
            return;
        }
        frameHeight = height;
        frameWidth = width;
        WorkingSize size = model.plan(height, width);
        preprocess = new Preprocess(height, width, size);
        input = new float[size.tensorLength()];
        code = new float[2 * size.tensorHeight * size.tensorWidth];
        field = new JitterField(size.height, size.width);
        evidenceMask = new boolean[size.height * size.width];
        int lh = Overlay.layerSide(size.height, LAYER_STEP);
        int lw = Overlay.layerSide(size.width, LAYER_STEP);
        layerPixels = new int[lh * lw];
        for (int i = 0; i < LAYER_BUFFERS; i++) {
            layers[i] = Bitmap.createBitmap(lw, lh, Bitmap.Config.ARGB_8888);
        }
        latency.clear();
    }

    private Bitmap drawLayer() {
        Overlay.toArgb(field, Overlay.DEFAULT_MAX_PX, Overlay.DEFAULT_STRENGTH, LAYER_STEP, layerPixels);
        Bitmap layer = layers[nextLayer];
        nextLayer = (nextLayer + 1) % LAYER_BUFFERS;
        layer.setPixels(layerPixels, 0, layer.getWidth(), 0, 0, layer.getWidth(), layer.getHeight());
        return layer;
    }
}
