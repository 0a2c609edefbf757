package com.jitteredge.demo;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import android.content.Context;
import android.util.Log;
import com.jitteredge.core.FieldCodec;
import com.jitteredge.core.WorkingSize;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import org.json.JSONException;
import org.json.JSONObject;

/**
 * The INT8 jitteredge network in ONNX Runtime: XNNPACK where it runs, the CPU provider otherwise.
 *
 * <p>Reads what it needs from the model's "jitteredge" metadata (working long side, code scale). Holds
 * one direct input buffer and its OnnxTensor per input size and reuses them for every frame: the tensor
 * wraps the buffer without a copy, so writing the buffer is enough. {@link #run} is not thread-safe;
 * call it from one thread.
 */
final class JitterModel implements AutoCloseable {
    /** Asset name; made by {@code jitteredge export --format ort --int8}. */
    static final String ASSET = "jitteredge_int8.ort";
    private static final String TAG = "JitterModel";
    private static final String METADATA_KEY = "jitteredge";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String inputName;
    private final String backend;
    private final int fixedHeight;  // 0 when the model takes any height
    private final int fixedWidth;
    private final int workingLongSide;
    private final double codeScalePx;

    private FloatBuffer inputBuffer;
    private OnnxTensor inputTensor;
    private WorkingSize tensorSize;

    private JitterModel(OrtEnvironment env, OrtSession session, String backend) throws OrtException {
        this.env = env;
        this.session = session;
        this.backend = backend;
        Map<String, NodeInfo> inputs = session.getInputInfo();
        inputName = inputs.keySet().iterator().next();
        long[] shape = ((TensorInfo) inputs.get(inputName).getInfo()).getShape();
        fixedHeight = shape.length == 4 && shape[2] > 0 ? (int) shape[2] : 0;
        fixedWidth = shape.length == 4 && shape[3] > 0 ? (int) shape[3] : 0;
        JSONObject meta = readMetadata(session);
        workingLongSide = meta.optInt("working_long_side", WorkingSize.DEFAULT_LONG_SIDE);
        codeScalePx = meta.optDouble("code_scale_px", FieldCodec.CODE_SCALE_PX);
    }

    /**
     * Loads the model from the app's assets.
     *
     * @throws FileNotFoundException when the asset is not packaged
     * @throws IOException when it cannot be read or ONNX Runtime refuses it
     */
    static JitterModel load(Context context, int threads) throws IOException {
        byte[] model;
        try (InputStream in = context.getAssets().open(ASSET)) {  // FileNotFoundException when absent
            model = readAll(in);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try {
            return new JitterModel(env, env.createSession(model, xnnpackOptions(threads)), "XNNPACK");
        } catch (OrtException e) {
            // Builds without XNNPACK, or a graph it rejects: the CPU provider runs everything.
            Log.w(TAG, "XNNPACK unavailable, using the CPU provider: " + e.getMessage());
        }
        try {
            return new JitterModel(env, env.createSession(model, cpuOptions(threads)), "CPU");
        } catch (OrtException e) {
            throw new IOException(ASSET + ": ONNX Runtime cannot load it (" + e.getMessage() + ")", e);
        }
    }

    private static OrtSession.SessionOptions xnnpackOptions(int threads) throws OrtException {
        OrtSession.SessionOptions options = baseOptions();
        // XNNPACK keeps its own thread pool; ORT's would only spin against it.
        options.setIntraOpNumThreads(1);
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
        options.addXnnpack(Collections.singletonMap("intra_op_num_threads", Integer.toString(threads)));
        return options;
    }

    private static OrtSession.SessionOptions cpuOptions(int threads) throws OrtException {
        OrtSession.SessionOptions options = baseOptions();
        options.setIntraOpNumThreads(threads);
        return options;
    }

    private static OrtSession.SessionOptions baseOptions() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.addConfigEntry("session.load_model_format", "ORT");
        return options;
    }

    private static JSONObject readMetadata(OrtSession session) {
        try {
            String json = session.getMetadata().getCustomMetadata().get(METADATA_KEY);
            if (json != null) {
                return new JSONObject(json);
            }
        } catch (OrtException | JSONException e) {
            Log.w(TAG, "model metadata unreadable, using defaults: " + e.getMessage());
        }
        return new JSONObject();
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /** The working size of a frame, planned as {@code jitteredge analyze} plans it for this model. */
    WorkingSize plan(int height, int width) {
        if (fixedHeight > 0 && fixedWidth > 0) {
            return WorkingSize.fit(height, width, workingLongSide, fixedHeight, fixedWidth);
        }
        return WorkingSize.plan(height, width, workingLongSide);
    }

    /**
     * Runs the network on a normalised (1, 3, tensorHeight, tensorWidth) input.
     *
     * @param input the input floats, as Preprocess writes them
     * @param size the size the input was prepared for
     * @param code receives the (2, tensorHeight, tensorWidth) output code; at least 2 * th * tw floats
     */
    void run(float[] input, WorkingSize size, float[] code) throws OrtException {
        ensureInput(size);
        inputBuffer.clear();
        inputBuffer.put(input, 0, size.tensorLength());
        inputBuffer.rewind();
        try (OrtSession.Result result = session.run(Collections.singletonMap(inputName, inputTensor))) {
            OnnxValue value = result.get(0);
            FloatBuffer out = ((OnnxTensor) value).getFloatBuffer();
            int needed = 2 * size.tensorHeight * size.tensorWidth;
            if (out.remaining() != needed) {
                throw new IllegalStateException("model output holds " + out.remaining() + " values, expected "
                        + needed + " (1, 2, " + size.tensorHeight + ", " + size.tensorWidth + ")");
            }
            out.get(code, 0, needed);
        }
    }

    private void ensureInput(WorkingSize size) throws OrtException {
        if (inputTensor != null && tensorSize.tensorHeight == size.tensorHeight
                && tensorSize.tensorWidth == size.tensorWidth) {
            return;
        }
        if (inputTensor != null) {
            inputTensor.close();
        }
        inputBuffer = ByteBuffer.allocateDirect(4 * size.tensorLength()).order(ByteOrder.nativeOrder()).asFloatBuffer();
        long[] shape = {1, 3, size.tensorHeight, size.tensorWidth};
        inputTensor = OnnxTensor.createTensor(env, inputBuffer, shape);
        tensorSize = size;
        Log.i(TAG, "input tensor " + Arrays.toString(shape) + " on " + backend);
    }

    String backend() {
        return backend;
    }

    double codeScalePx() {
        return codeScalePx;
    }

    @Override
    public void close() {
        try {
            if (inputTensor != null) {
                inputTensor.close();
            }
            session.close();
        } catch (OrtException e) {
            Log.w(TAG, "closing the session: " + e.getMessage());
        }
    }
}
