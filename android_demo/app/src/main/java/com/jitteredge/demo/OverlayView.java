package com.jitteredge.demo;

import android.content.Context;
import android.graphics.Bitmap;
import android.graphics.Canvas;
import android.graphics.Matrix;
import android.graphics.Paint;
import android.util.AttributeSet;
import android.view.View;
import androidx.annotation.Nullable;

/**
 * Draws the translucent jitter map over the camera preview.
 *
 * <p>The map is in sensor orientation; it is turned by the frame's rotation and scaled to fill the
 * view, centred and cropped, as PreviewView's default FILL_CENTER does with the preview (both use
 * the same 4:3 aspect ratio, so they line up).
 */
public final class OverlayView extends View {
    private final Paint paint = new Paint(Paint.FILTER_BITMAP_FLAG);  // bilinear: the map is sampled coarsely
    private final Matrix matrix = new Matrix();
    @Nullable
    private Bitmap layer;
    private int rotationDegrees;

    public OverlayView(Context context, @Nullable AttributeSet attrs) {
        super(context, attrs);
    }

    /** Shows a new map; call on the UI thread. */
    public void show(Bitmap layer, int rotationDegrees) {
        this.layer = layer;
        this.rotationDegrees = rotationDegrees;
        invalidate();
    }

    public void clear() {
        layer = null;
        invalidate();
    }

    @Override
    protected void onDraw(Canvas canvas) {
        super.onDraw(canvas);
        Bitmap bitmap = layer;
        if (bitmap == null || getWidth() == 0 || getHeight() == 0) {
            return;
        }
        float bw = bitmap.getWidth();
        float bh = bitmap.getHeight();
        boolean sideways = rotationDegrees % 180 != 0;
        float uprightW = sideways ? bh : bw;
        float uprightH = sideways ? bw : bh;
        float scale = Math.max(getWidth() / uprightW, getHeight() / uprightH);
        matrix.reset();
        matrix.postTranslate(-bw / 2f, -bh / 2f);
        matrix.postRotate(rotationDegrees);
        matrix.postScale(scale, scale);
        matrix.postTranslate(getWidth() / 2f, getHeight() / 2f);
        canvas.drawBitmap(bitmap, matrix, paint);
    }
}
