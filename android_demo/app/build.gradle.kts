plugins {
    alias(libs.plugins.android.application)
}

android {
    namespace = "com.jitteredge.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "com.jitteredge.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    compileOptions {
        // D8 desugars the Java 17 language features down to minSdk 24.
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    androidResources {
        // The .ort model is read in one piece; storing it uncompressed keeps the APK read cheap.
        noCompress += "ort"
    }
}

dependencies {
    implementation(libs.camera.core)
    implementation(libs.camera.camera2)
    implementation(libs.camera.lifecycle)
    implementation(libs.camera.view)
    implementation(libs.onnxruntime.android)
    implementation(libs.appcompat)

    // The same JUnit tests run_jvm_tests.sh runs: ./gradlew test (golden vectors in src/test/resources).
    testImplementation(libs.junit)
}
