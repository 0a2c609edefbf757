package com.jitteredge.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One golden case written by {@code python -m jitteredge.golden}, read from the test classpath
 * ({@code /golden/}, i.e. app/src/test/resources/golden/).
 */
final class Golden {
    static final String FORMAT = "jitteredge-golden";
    static final int VERSION = 1;

    final String file;
    private final Map<String, Object> data;

    private Golden(String file, Map<String, Object> data) {
        this.file = file;
        this.data = data;
    }

    /** The cases of one kind ("preprocess" or "field"), as JUnit Parameterized rows {name, case}. */
    static List<Object[]> cases(String kind) {
        Map<String, Object> index = asMap(MiniJson.parse(read("index.json")));
        if (!FORMAT.equals(index.get("format")) || ((MiniJson.Num) index.get("version")).asInt() != VERSION) {
            throw new IllegalStateException("golden/index.json is not " + FORMAT + " version " + VERSION);
        }
        List<Object[]> rows = new ArrayList<>();
        for (Object name : (List<?>) index.get(kind)) {
            String file = (String) name;
            rows.add(new Object[] {file, new Golden(file, asMap(MiniJson.parse(read(file))))});
        }
        if (rows.isEmpty()) {
            throw new IllegalStateException("golden/index.json lists no " + kind + " cases");
        }
        return rows;
    }

    boolean has(String key) {
        return data.get(key) != null;
    }

    int integer(String key) {
        return num(key).asInt();
    }

    double dbl(String key) {
        return num(key).asDouble();
    }

    boolean bool(String key) {
        return (Boolean) get(key);
    }

    Golden child(String key) {
        return new Golden(file + ":" + key, asMap(get(key)));
    }

    int[] ints(String key) {
        List<?> list = list(key);
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((MiniJson.Num) list.get(i)).asInt();
        }
        return out;
    }

    float[] floats(String key) {
        List<?> list = list(key);
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((MiniJson.Num) list.get(i)).asFloat();
        }
        return out;
    }

    /** uint8 values as bytes. */
    byte[] bytes(String key) {
        int[] values = ints(key);
        byte[] out = new byte[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    private List<?> list(String key) {
        return (List<?>) get(key);
    }

    private MiniJson.Num num(String key) {
        return (MiniJson.Num) get(key);
    }

    private Object get(String key) {
        if (!data.containsKey(key)) {
            throw new IllegalStateException(file + ": no key '" + key + "'");
        }
        return data.get(key);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }

    private static String read(String name) {
        try (InputStream in = Golden.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new IllegalStateException("golden/" + name + " is not on the test classpath");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
