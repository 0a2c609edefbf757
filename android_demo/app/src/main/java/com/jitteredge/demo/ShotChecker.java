package com.jitteredge.demo;

import ai.onnxruntime.OrtException;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import com.jitteredge.core.Evidence;
import com.jitteredge.core.FieldCodec;
import com.jitteredge.core.JitterField;
import com.jitteredge.core.Preprocess;
import com.jitteredge.core.Verdict;
import com.jitteredge.core.WorkingSize;
import java.io.IOException;

/** A captured still (JPEG) -> its verdict, analysed at full quality as {@code jitteredge analyze} would. */
final class ShotChecker {
    private final JitterModel model;

    ShotChecker(JitterModel model) {
        this.model = model;
    }

    /**
     * Decodes and judges one JPEG. Call on the thread that runs the model.
     *
     * @throws IOException when the bytes are not a decodable image
     */
    Verdict check(byte[] jpeg) throws IOException, OrtException {
        Bitmap bitmap = BitmapFactory.decodeByteArray(jpeg, 0, jpeg.length);
        if (bitmap == null) {
            throw new IOException("the captured photo could not be decoded");
        }
        try {
            int height = bitmap.getHeight();
            int width = bitmap.getWidth();
            WorkingSize size = model.plan(height, width);
            Preprocess preprocess = new Preprocess(height, width, size);
            float[] input = new float[size.tensorLength()];
            // Row by row: a 12 MP still never needs a second full copy of its pixels.
            preprocess.fromRows((y, row) -> bitmap.getPixels(row, 0, width, 0, y, width, 1), input);
            float[] code = new float[2 * size.tensorHeight * size.tensorWidth];
            model.run(input, size, code);
            JitterField field = FieldCodec.decode(code, size.tensorHeight, size.tensorWidth, size.height,
                    size.width, model.codeScalePx());
            boolean[] evidence = new boolean[size.height * size.width];
            new Evidence().compute(preprocess.workingRgb(), size.height, size.width, 3 * size.paddedWidth, evidence);
            return Verdict.judge(field, size.inputScale, evidence);
        } finally {
            bitmap.recycle();
        }
    }
}
