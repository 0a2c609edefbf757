"""Process memory: the peak resident-set growth (VmHWM from /proc) of a measured block, after
handing heap that earlier rows freed back to the OS."""

from __future__ import annotations


def _proc_status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap back to the OS (glibc malloc_trim), so a row's memory
    growth is not hidden by pages an earlier row freed but the allocator kept."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        pass


class PeakRss:
    """Peak resident-set growth (MB) of this process inside a ``with`` block, read from /proc.

    VmHWM (the peak) is reset on entry by writing 5 to /proc/self/clear_refs (Linux >= 4.0); where
    that is refused, the peak since process start is used, which can only overstate the baseline,
    so the growth is then a lower bound. Heap freed by earlier rows is handed back to the OS first
    (release_freed_memory); allocators that keep their own pools can still make later rows read
    low, so for exact figures run one backend per call.
    """

    def __init__(self) -> None:
        self.delta_mb: float | None = None
        self.exact = False

    def __enter__(self) -> "PeakRss":
        release_freed_memory()
        self.start_kb = _proc_status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.exact = True
        except OSError:
            self.exact = False
        return self

    def __exit__(self, *exc: object) -> None:
        peak = _proc_status_kb("VmHWM")
        now = _proc_status_kb("VmRSS")
        if self.start_kb is None or peak is None:
            return
        top = peak if self.exact else max(now or 0, self.start_kb)
        self.delta_mb = round(max(0, top - self.start_kb) / 1024.0, 2)
