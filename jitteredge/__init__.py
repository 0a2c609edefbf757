"""jitteredge: detect and map camera shake in photos (patent CN109671061A, Gong et al. CVPR 2017)."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``jitteredge.deblur(image, field)`` for code; loaded on first use so that the CLI starts fast.
    if name == "deblur":
        from jitteredge.deblurring import deblur

        return deblur
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
