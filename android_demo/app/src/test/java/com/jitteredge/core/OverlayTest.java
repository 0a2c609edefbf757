package com.jitteredge.core;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class OverlayTest {
    @Test
    public void hueTurnsTwiceAsFastAsTheDirection() {
        assertEquals(0xFF0000, Overlay.colorOf(10, 0, 10));  // horizontal: red
        assertEquals(0xFF0000, Overlay.colorOf(-10, 0, 10));  // the same blur, other sign
        assertEquals(0x00FFFF, Overlay.colorOf(0, 10, 10));  // vertical: hue 180, cyan
        assertEquals(0x000000, Overlay.colorOf(0, 0, 10));
        assertEquals(0x800000, Overlay.colorOf(5, 0, 10));  // half length, half brightness (127.5 -> 128)
        assertEquals(0xFF0000, Overlay.colorOf(30, 0, 10));  // clipped at full brightness
    }

    @Test
    public void translucentLayerIsSampledAndFadesWithLength() {
        JitterField f = new JitterField(3, 5);
        f.u[0] = 10f;  // (0, 0): full length
        f.u[2] = 5f;  // (0, 2): half length
        int step = 2;
        int lh = Overlay.layerSide(3, step);
        int lw = Overlay.layerSide(5, step);
        assertEquals(2, lh);
        assertEquals(3, lw);
        int[] layer = new int[lh * lw];
        Overlay.toArgb(f, 10.0, 0.7, step, layer);
        assertEquals(0xB3FF0000, layer[0]);  // alpha floor(0.7 * 255 + 0.5) = 179
        assertEquals(0x59800000, layer[1]);  // alpha floor(0.35 * 255 + 0.5) = 89
        assertEquals(0, layer[2]);
    }

    @Test
    public void blendKeepsThePhotoWhereThereIsNoBlur() {
        JitterField f = new JitterField(1, 2);
        f.u[1] = 10f;
        byte[] photo = {10, 20, 30, 40, 50, 60};
        byte[] out = new byte[6];
        Overlay.blend(photo, f, 10.0, 0.7, out);
        assertEquals(10, out[0]);
        assertEquals(20, out[1]);
        assertEquals(30, out[2]);
        assertEquals((int) Math.floor(40 * (double) (1f - 0.7f) + 255 * (double) 0.7f + 0.5), out[3] & 0xff);
        assertEquals((int) Math.floor(50 * (double) (1f - 0.7f) + 0.5), out[4] & 0xff);
    }
}
