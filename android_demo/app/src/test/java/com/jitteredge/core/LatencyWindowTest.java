package com.jitteredge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class LatencyWindowTest {
    @Test
    public void medianOfWhatIsThere() {
        LatencyWindow w = new LatencyWindow(5);
        assertTrue(Double.isNaN(w.p50()));
        w.add(30);
        assertEquals(30.0, w.p50(), 0.0);
        w.add(10);
        assertEquals(20.0, w.p50(), 0.0);  // even count: mean of the middle two
        w.add(100);
        assertEquals(30.0, w.p50(), 0.0);  // one slow frame does not move the median
        assertEquals(3, w.size());
    }

    @Test
    public void oldSamplesSlideOut() {
        LatencyWindow w = new LatencyWindow(3);
        for (double ms : new double[] {100, 100, 100, 5, 6, 7}) {
            w.add(ms);
        }
        assertEquals(3, w.size());
        assertEquals(6.0, w.p50(), 0.0);
        w.clear();
        assertEquals(0, w.size());
    }

    @Test
    public void needsRoomForOneSample() {
        assertThrows(IllegalArgumentException.class, () -> new LatencyWindow(0));
    }
}
