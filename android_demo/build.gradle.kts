// Top-level build file: plugin versions only; the app module configures itself.
plugins {
    alias(libs.plugins.android.application) apply false
}
