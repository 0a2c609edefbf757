package com.jitteredge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

public class WorkingSizeTest {
    @Test
    public void reducesToTheLongSideAndPadsToMultiplesOf16() {
        WorkingSize s = WorkingSize.plan(480, 640, 512);
        assertEquals(384, s.height);
        assertEquals(512, s.width);
        assertEquals(384, s.paddedHeight);
        assertEquals(512, s.paddedWidth);
        assertEquals(1.25, s.inputScale, 0.0);
        assertEquals(3 * 384 * 512, s.tensorLength());
    }

    @Test
    public void neverEnlarges() {
        WorkingSize s = WorkingSize.plan(20, 30, 512);
        assertEquals(20, s.height);
        assertEquals(30, s.width);
        assertEquals(32, s.paddedHeight);
        assertEquals(32, s.paddedWidth);
        assertEquals(1.0, s.inputScale, 0.0);
    }

    @Test
    public void roundsHalvesToEvenLikePython() {
        assertEquals(4, WorkingSize.plan(9, 40, 20).height);  // round(4.5) == 4
        assertEquals(6, WorkingSize.plan(11, 40, 20).height);  // round(5.5) == 6
    }

    @Test
    public void fitsAStaticShapeModel() {
        WorkingSize s = WorkingSize.fit(480, 640, 512, 256, 256);
        assertEquals(256, s.tensorHeight);
        assertEquals(256, s.tensorWidth);
        assertEquals(192, s.height);
        assertEquals(256, s.width);
        assertEquals(2.5, s.inputScale, 0.0);
    }

    @Test
    public void rejectsImpossibleSizes() {
        assertThrows(IllegalArgumentException.class, () -> WorkingSize.plan(0, 10, 512));
        assertThrows(IllegalArgumentException.class, () -> WorkingSize.plan(10, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> WorkingSize.fit(100, 100, 512, 20, 20));
    }
}
