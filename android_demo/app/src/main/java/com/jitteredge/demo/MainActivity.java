package com.jitteredge.demo;

import ai.onnxruntime.OrtException;
import android.Manifest;
import android.content.Intent;
import android.content.pm.PackageManager;
import android.net.Uri;
import android.os.Bundle;
import android.os.Environment;
import android.provider.Settings;
import android.util.Log;
import android.util.Size;
import android.view.View;
import android.widget.Button;
import android.widget.TextView;
import android.widget.Toast;
import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.contract.ActivityResultContracts;
import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import androidx.appcompat.app.AlertDialog;
import androidx.appcompat.app.AppCompatActivity;
import androidx.camera.core.CameraSelector;
import androidx.camera.core.ImageAnalysis;
import androidx.camera.core.ImageCapture;
import androidx.camera.core.ImageCaptureException;
import androidx.camera.core.ImageProxy;
import androidx.camera.core.Preview;
import androidx.camera.core.resolutionselector.AspectRatioStrategy;
import androidx.camera.core.resolutionselector.ResolutionSelector;
import androidx.camera.core.resolutionselector.ResolutionStrategy;
import androidx.camera.lifecycle.ProcessCameraProvider;
import androidx.camera.view.PreviewView;
import androidx.core.content.ContextCompat;
import androidx.core.graphics.Insets;
import androidx.core.view.ViewCompat;
import androidx.core.view.WindowInsetsCompat;
import com.google.common.util.concurrent.ListenableFuture;
import com.jitteredge.core.Verdict;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Camera preview with the live jitter map and verdict; a still capture is judged and, if shaken,
 * the user is asked to retake it.
 */
public final class MainActivity extends AppCompatActivity implements FrameAnalyzer.Listener {
    private static final String TAG = "JitterEdge";
    /** Frame size asked of ImageAnalysis: about the model's working size, so the reduction is cheap. */
    private static final Size ANALYSIS_SIZE = new Size(640, 480);
    /**
     * Below this share of pixels with visible detail (Verdict.seenFraction) a steady verdict is not
     * shown: under 5% seen, no frame can reach the 5% shaken area, so "steady" would say nothing.
     */
    private static final double MIN_SEEN_FRACTION = 0.05;

    /** Runs model loading, frame analysis and still checks: one thread, so the model runs serially. */
    private final ExecutorService analysisExecutor = Executors.newSingleThreadExecutor();

    private PreviewView previewView;
    private OverlayView overlayView;
    private TextView verdictText;
    private TextView statusText;
    private View messagePanel;
    private TextView messageText;
    private Button grantButton;
    private Button captureButton;

    @Nullable
    private JitterModel model;
    private boolean modelMissing;
    @Nullable
    private ImageCapture imageCapture;
    private boolean cameraStarted;
    private boolean permissionRequested;
    private ActivityResultLauncher<String> permissionLauncher;

    @Override
    protected void onCreate(@Nullable Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        previewView = findViewById(R.id.preview);
        overlayView = findViewById(R.id.overlay);
        verdictText = findViewById(R.id.verdict);
        statusText = findViewById(R.id.status);
        messagePanel = findViewById(R.id.message_panel);
        messageText = findViewById(R.id.message);
        grantButton = findViewById(R.id.grant);
        captureButton = findViewById(R.id.capture);
        View controls = findViewById(R.id.controls);
        ViewCompat.setOnApplyWindowInsetsListener(controls, (v, insets) -> {
            // targetSdk 35 draws edge to edge: keep the texts and button clear of the system bars.
            Insets bars = insets.getInsets(WindowInsetsCompat.Type.systemBars());
            v.setPadding(bars.left, bars.top, bars.right, bars.bottom);
            return insets;
        });
        captureButton.setEnabled(false);
        captureButton.setOnClickListener(v -> takeStill());

        permissionLauncher = registerForActivityResult(new ActivityResultContracts.RequestPermission(), granted -> {
            if (granted) {
                hideMessage();
                startCamera();
            } else {
                showPermissionMessage();
            }
        });
        analysisExecutor.execute(this::loadModel);
    }

    @Override
    protected void onResume() {
        super.onResume();
        if (cameraStarted) {
            return;
        }
        if (hasCameraPermission()) {
            hideMessage();
            startCamera();  // also after the user granted it in Settings
        } else if (!permissionRequested) {
            permissionRequested = true;
            permissionLauncher.launch(Manifest.permission.CAMERA);
        }
    }

    @Override
    protected void onDestroy() {
        super.onDestroy();
        analysisExecutor.execute(() -> {
            if (model != null) {
                model.close();
            }
        });
        analysisExecutor.shutdown();
    }

    // -- model ----------------------------------------------------------------------------------------
    /** On the analysis thread. */
    private void loadModel() {
        try {
            int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
            JitterModel loaded = JitterModel.load(this, threads);
            runOnUiThread(() -> onModelReady(loaded));
        } catch (FileNotFoundException e) {
            runOnUiThread(() -> {
                modelMissing = true;
                showMessage(getString(R.string.model_missing, JitterModel.ASSET), false);
            });
        } catch (IOException e) {
            Log.e(TAG, "model", e);
            runOnUiThread(() -> showMessage(getString(R.string.model_failed, e.getMessage()), false));
        }
    }

    private void onModelReady(JitterModel loaded) {
        model = loaded;
        statusText.setText(getString(R.string.status_loading, loaded.backend()));
        if (cameraStarted) {
            cameraStarted = false;
            startCamera();  // rebind with the analysis and capture use cases
        }
    }

    // -- camera ---------------------------------------------------------------------------------------
    private boolean hasCameraPermission() {
        return ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED;
    }

    private void startCamera() {
        if (cameraStarted || !hasCameraPermission()) {
            return;
        }
        cameraStarted = true;
        ListenableFuture<ProcessCameraProvider> future = ProcessCameraProvider.getInstance(this);
        future.addListener(() -> {
            try {
                bindUseCases(future.get());
            } catch (ExecutionException | InterruptedException | IllegalArgumentException | IllegalStateException e) {
                Log.e(TAG, "camera", e);
                cameraStarted = false;
                showMessage(getString(R.string.camera_failed, String.valueOf(e.getMessage())), false);
            }
        }, ContextCompat.getMainExecutor(this));
    }

    private void bindUseCases(ProcessCameraProvider provider) {
        ResolutionSelector fourThree = new ResolutionSelector.Builder()
                .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY)
                .build();
        Preview preview = new Preview.Builder().setResolutionSelector(fourThree).build();
        preview.setSurfaceProvider(previewView.getSurfaceProvider());
        provider.unbindAll();
        if (model == null) {
            // Preview only, until the model is ready (or for good when it is missing).
            provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview);
            return;
        }
        ImageAnalysis analysis = new ImageAnalysis.Builder()
                .setResolutionSelector(new ResolutionSelector.Builder()
                        .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY)
                        .setResolutionStrategy(new ResolutionStrategy(ANALYSIS_SIZE,
                                ResolutionStrategy.FALLBACK_RULE_CLOSEST_LOWER_THEN_HIGHER))
                        .build())
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)  // no YUV conversion here
                .build();
        analysis.setAnalyzer(analysisExecutor, new FrameAnalyzer(model, this));
        imageCapture = new ImageCapture.Builder()
                .setCaptureMode(ImageCapture.CAPTURE_MODE_MINIMIZE_LATENCY)
                .setResolutionSelector(fourThree)
                .build();
        provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis, imageCapture);
        captureButton.setEnabled(true);
    }

    // -- live frames (analysis thread) ------------------------------------------------------------------
    @Override
    public void onFrame(FrameResult r) {
        runOnUiThread(() -> {
            overlayView.show(r.layer, r.rotationDegrees);
            Verdict v = r.verdict;
            if (v.shaken) {
                verdictText.setText(getString(R.string.verdict_shaken, v.blurPx,
                        Verdict.displayDirectionDeg(v.directionDeg, r.rotationDegrees)));
                verdictText.setBackgroundResource(R.color.shaken);
            } else if (v.seenFraction < MIN_SEEN_FRACTION) {
                // a white wall or a clear sky: "steady" would claim more than the frame can show
                verdictText.setText(R.string.verdict_featureless);
                verdictText.setBackgroundResource(R.color.panel);
            } else {
                verdictText.setText(R.string.verdict_steady);
                verdictText.setBackgroundResource(R.color.steady);
            }
            statusText.setText(getString(R.string.status_latency, r.latencyP50Ms, r.backend, r.size.width,
                    r.size.height));
        });
    }

    @Override
    public void onFrameError(String message) {
        Log.w(TAG, "frame: " + message);
        runOnUiThread(() -> statusText.setText(getString(R.string.frame_failed, message)));
    }

    // -- still capture ----------------------------------------------------------------------------------
    private void takeStill() {
        ImageCapture capture = imageCapture;
        JitterModel m = model;
        if (capture == null || m == null) {
            return;
        }
        captureButton.setEnabled(false);
        capture.takePicture(analysisExecutor, new ImageCapture.OnImageCapturedCallback() {
            @Override
            public void onCaptureSuccess(@NonNull ImageProxy image) {
                byte[] jpeg;
                int rotation = image.getImageInfo().getRotationDegrees();
                try {
                    ByteBuffer buffer = image.getPlanes()[0].getBuffer();
                    buffer.rewind();
                    jpeg = new byte[buffer.remaining()];
                    buffer.get(jpeg);
                } finally {
                    image.close();
                }
                try {
                    Verdict v = new ShotChecker(m).check(jpeg);
                    runOnUiThread(() -> onStillJudged(jpeg, v, rotation));
                } catch (IOException | OrtException | RuntimeException e) {  // report, never crash the camera
                    Log.e(TAG, "still", e);
                    runOnUiThread(() -> onStillFailed(String.valueOf(e.getMessage())));
                }
            }

            @Override
            public void onError(@NonNull ImageCaptureException e) {
                runOnUiThread(() -> onStillFailed(String.valueOf(e.getMessage())));
            }
        });
    }

    private void onStillJudged(byte[] jpeg, Verdict v, int rotation) {
        captureButton.setEnabled(true);
        if (!v.shaken) {
            save(jpeg);
            return;
        }
        new AlertDialog.Builder(this)
                .setTitle(R.string.retake_title)
                .setMessage(getString(R.string.retake_message, v.blurPx,
                        Verdict.displayDirectionDeg(v.directionDeg, rotation), 100.0 * v.shakenFraction))
                .setPositiveButton(R.string.retake, (d, which) -> d.dismiss())
                .setNegativeButton(R.string.keep_anyway, (d, which) -> save(jpeg))
                .show();
    }

    private void onStillFailed(String message) {
        captureButton.setEnabled(true);
        Toast.makeText(this, getString(R.string.capture_failed, message), Toast.LENGTH_LONG).show();
    }

    /** Into the app's own Pictures folder: no storage permission needed. */
    private void save(byte[] jpeg) {
        File dir = getExternalFilesDir(Environment.DIRECTORY_PICTURES);
        String name = "jitteredge_" + new SimpleDateFormat("yyyyMMdd_HHmmss", Locale.US).format(new Date()) + ".jpg";
        File file = new File(dir != null ? dir : getFilesDir(), name);
        try (OutputStream out = new FileOutputStream(file)) {
            out.write(jpeg);
            Toast.makeText(this, getString(R.string.saved, file.getAbsolutePath()), Toast.LENGTH_SHORT).show();
        } catch (IOException e) {
            Toast.makeText(this, getString(R.string.capture_failed, e.getMessage()), Toast.LENGTH_LONG).show();
        }
    }

    // -- messages -----------------------------------------------------------------------------------------
    private void showPermissionMessage() {
        boolean canAskAgain = shouldShowRequestPermissionRationale(Manifest.permission.CAMERA);
        showMessage(getString(R.string.permission_denied), true);
        grantButton.setText(canAskAgain ? R.string.grant : R.string.open_settings);
        grantButton.setOnClickListener(v -> {
            if (canAskAgain) {
                permissionLauncher.launch(Manifest.permission.CAMERA);
            } else {
                startActivity(new Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS,
                        Uri.fromParts("package", getPackageName(), null)));
            }
        });
    }

    private void showMessage(String message, boolean withButton) {
        messageText.setText(message);
        grantButton.setVisibility(withButton ? View.VISIBLE : View.GONE);
        messagePanel.setVisibility(View.VISIBLE);
        overlayView.clear();
    }

    private void hideMessage() {
        if (modelMissing) {  // the camera is fine now, the model is still missing
            showMessage(getString(R.string.model_missing, JitterModel.ASSET), false);
            return;
        }
        messagePanel.setVisibility(View.GONE);
    }

}
