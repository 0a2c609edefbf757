"""Deblurring: a shaken photo restored with its per-pixel jitter field ([0071]: the field feeds deblurring).

``deblur(image, field, settings)`` is the library entry (``restore.py``); ``DeblurSettings`` its
settings (``settings.py``); the deconvolution itself is in ``solver.py``, the tone curve in
``tone.py``, files and pictures in ``files.py``, the quality benchmark in ``quality.py``.
"""

from jitteredge.deblurring.restore import deblur
from jitteredge.deblurring.settings import DeblurSettings

__all__ = ["DeblurSettings", "deblur"]
